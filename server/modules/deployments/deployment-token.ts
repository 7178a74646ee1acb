import { TokenFormat } from '../../tokens/token-format';

/** Deployment tokens: `sit_<lookup>_<secret><checksum>`, the construction API keys use. */
export const deploymentTokenFormat = new TokenFormat('sit', 'deployment token', 'token');

/** What a deployment token may do; every token gets both today. */
export const DEPLOYMENT_SCOPES = ['heartbeat:write', 'signals:write'] as const;
export type DeploymentScope = (typeof DEPLOYMENT_SCOPES)[number];
