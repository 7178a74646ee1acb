import type { DeploymentCaller } from './token-validator';

/** RFC 7662 §2.2 for a live deployment token, with our own `vendor_id`, `model_id` and `deployment_id`. */
export interface ActiveDeploymentToken {
  active: true;
  /** Space-separated, as OAuth scopes are: `heartbeat:write signals:write`. */
  scope: string;
  /** The deployment the token belongs to: it is the token's client, and stays the same when the token rotates. */
  client_id: string;
  /** The vendor the deployment acts for. */
  sub: string;
  /** When the token was created, in seconds since the epoch. There is no `exp`: deployment tokens are revoked, never expire. */
  iat: number;
  /** The token's own id (`dtk_...`): changes when the token rotates. */
  jti: string;
  token_type: 'deployment_token';
  vendor_id: string;
  /** The deployment's catalog model, once deployments are linked to one (none is yet). */
  model_id: string | null;
  deployment_id: string;
}

/** Anything but a live deployment token: RFC 7662 says nothing more may be told. */
export type IntrospectionAnswer = ActiveDeploymentToken | { active: false };

export function introspectionAnswer(caller: DeploymentCaller | null): IntrospectionAnswer {
  if (!caller) return { active: false };
  return {
    active: true,
    scope: caller.scopes.join(' '),
    client_id: caller.deploymentId,
    sub: caller.vendorId,
    iat: Math.floor(caller.issuedAt.getTime() / 1000),
    jti: caller.tokenId,
    token_type: 'deployment_token',
    vendor_id: caller.vendorId,
    model_id: null,
    deployment_id: caller.deploymentId,
  };
}
