// How deployments look in `mp deploy` output: status and health colors, the list's columns, the
// detail view's pairs, the JSON shape, and the hint for an unknown deployment.
import type {
  DeploymentChangeFieldsFragment,
  DeploymentFieldsFragment,
  DeployStatusQuery,
  DeploymentAction,
  DeploymentHealth,
  DeploymentStatus,
} from '../../../generated/cli-operations';
import { CliError, ExitCode } from '../../errors';
import { formatSeconds } from '../../duration';
import type { Column, Style } from '../../output';

export type Deployment = DeploymentFieldsFragment;
export type DeploymentDetail = DeployStatusQuery['deployment'];
export type DeploymentChange = DeploymentChangeFieldsFragment;

export const STATUS_STYLE: Record<DeploymentStatus, Style> = {
  PENDING: 'cyan',
  PROVISIONING: 'cyan',
  STARTING: 'cyan',
  RUNNING: 'green',
  STOPPING: 'yellow',
  STOPPED: 'dim',
  FAILED: 'red',
};

export const HEALTH_STYLE: Record<DeploymentHealth, Style> = {
  UNKNOWN: 'dim',
  HEALTHY: 'green',
  DEGRADED: 'yellow',
  UNHEALTHY: 'red',
};

const ACTION_WORDS: Record<DeploymentAction, string> = {
  STOP: 'stop',
  ROTATE_TOKEN: 'rotate token',
  LINK_INFRA: 'link infra',
};

/** "2026-11-25 17:00:03 UTC": deployment events are seconds apart, so seconds are shown. */
export function formatInstant(iso: string | null | undefined, empty = '-'): string {
  if (!iso) return empty;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** "4s ago", "3m 12s ago"; "-" when there is no time. */
export function formatAge(iso: string | null | undefined, now: Date = new Date()): string {
  if (!iso) return '-';
  const seconds = Math.max(0, (now.getTime() - new Date(iso).getTime()) / 1000);
  return `${formatSeconds(seconds)} ago`;
}

/** What the deployment serves: "built-in model", "training run run_…", "file /models/m.json (sha256 8737fb4f4c9e…)". */
export function describeModel(model: Deployment['model']): string {
  const sha = model.sha256 ? ` (sha256 ${model.sha256.slice(0, 12)}…)` : '';
  switch (model.kind) {
    case 'BUILT_IN':
      return "the template's built-in model";
    case 'TRAINING_RUN':
      return `training run ${model.ref ?? '?'}${sha}`;
    case 'PATH':
      return `file ${model.ref ?? '?'}${sha}`;
    case 'URL':
      return `${model.ref ?? '?'}${sha}`;
  }
}

/** "CPU, 2 CPU, 4 GB memory" or "RTX4090 or A100 (x2), 2 CPU, 4 GB memory, image ghcr.io/...". */
export function describeResources(resources: Deployment['resources']): string {
  const gpu = resources.gpuTypes.length === 0 ? 'no GPU' : `${resources.gpuTypes.join(' or ')} (x${resources.gpuCount})`;
  return [gpu, `${resources.cpu} CPU`, `${resources.memoryGb} GB memory`, ...(resources.image ? [`image ${resources.image}`] : [])].join(', ');
}

export const MARKETPLACE_SIGNAL_STORE = "the marketplace's own signal store";

export function describeSignals(signalsUrl: string | null): string {
  return signalsUrl ?? `${MARKETPLACE_SIGNAL_STORE} (link elsewhere with mp link-infra)`;
}

export function describeActions(actions: readonly DeploymentAction[]): string {
  return actions.length === 0 ? 'none (it has ended)' : actions.map((action) => ACTION_WORDS[action]).join(', ');
}

/** "READY, 3.5 ms, version built-in". */
function describeHeartbeat(heartbeat: NonNullable<Deployment['lastHeartbeat']>): string {
  return [
    heartbeat.status,
    ...(heartbeat.latencyMs === null ? [] : [`${heartbeat.latencyMs} ms`]),
    ...(heartbeat.version ? [`version ${heartbeat.version}`] : []),
  ].join(', ');
}

/** The endpoint, or why there is none yet. */
export function describeEndpoint(deployment: Pick<Deployment, 'endpointUrl' | 'status'>): string {
  if (deployment.endpointUrl)
    return ['STOPPED', 'FAILED'].includes(deployment.status) ? `${deployment.endpointUrl} (no longer served)` : deployment.endpointUrl;
  return ['PENDING', 'PROVISIONING'].includes(deployment.status) ? '- (assigned once it starts)' : '-';
}

/** The first lines every deployment output shows: id, status, health, endpoint. */
export function briefPairs(deployment: Deployment): Array<[string, string]> {
  return [
    ['ID', deployment.id],
    ['Status', deployment.status],
    ['Health', deployment.health],
    ['Endpoint', describeEndpoint(deployment)],
  ];
}

/** Everything `mp deploy status <id>` shows as label/value pairs (history and logs follow). */
export function detailPairs(deployment: Deployment, now: Date = new Date()): Array<[string, string]> {
  const heartbeat = deployment.lastHeartbeat;
  return [
    ['Name', deployment.name],
    ['Status', deployment.status],
    ['Health', deployment.health],
    ['Actions', describeActions(deployment.actions)],
    ['Endpoint', describeEndpoint(deployment)],
    [
      'Last heartbeat',
      deployment.lastHeartbeatAt
        ? `${formatInstant(deployment.lastHeartbeatAt)} (${formatAge(deployment.lastHeartbeatAt, now)})${heartbeat ? `: ${describeHeartbeat(heartbeat)}` : ''}`
        : 'none yet',
    ],
    ['Heartbeats', `every ${formatSeconds(deployment.heartbeatIntervalSeconds)}`],
    ['Signals', describeSignals(deployment.signalsUrl)],
    ['Model', describeModel(deployment.model)],
    ['Provider', `${deployment.provider.toLowerCase()}${deployment.providerRef ? ` (${deployment.providerRef})` : ''}, template ${deployment.template}`],
    ['Resources', describeResources(deployment.resources)],
    ['Rate limit', `${deployment.rateLimitPerMinute} requests a minute`],
    ['Token', deployment.tokenPrefix],
    ['Created', formatInstant(deployment.createdAt)],
  ];
}

/** The columns of `mp deploy list`. */
export function deploymentColumns(now: Date = new Date()): Column<Deployment>[] {
  return [
    { header: 'id', value: (d) => d.id, style: () => 'cyan' },
    { header: 'name', value: (d) => d.name },
    { header: 'status', value: (d) => d.status.toLowerCase(), style: (d) => STATUS_STYLE[d.status] },
    { header: 'health', value: (d) => d.health.toLowerCase(), style: (d) => HEALTH_STYLE[d.health] },
    { header: 'last heartbeat', value: (d) => formatAge(d.lastHeartbeatAt, now) },
    { header: 'endpoint', value: (d) => d.endpointUrl ?? '-' },
  ];
}

/** The columns of the history table. */
export const HISTORY_COLUMNS: Column<DeploymentChange>[] = [
  { header: 'at', value: (e) => formatInstant(e.at) },
  { header: 'status', value: (e) => e.status, style: (e) => STATUS_STYLE[e.status] },
  { header: 'health', value: (e) => e.health, style: (e) => HEALTH_STYLE[e.health] },
  { header: 'reason', value: (e) => e.reason },
];

/** One change as `mp deploy status --watch` prints it. */
export function changeLine(change: DeploymentChange): string {
  return `${formatInstant(change.at)}  ${change.status.padEnd(12)}  ${change.health.padEnd(9)}  ${change.reason}`;
}

/** What --json prints for a deployment: its fields, and the token only when it was asked for (--show-token). */
export function deploymentJson<T extends Deployment>(deployment: T, token?: { show: boolean; value: string | null }): T & { token?: string | null } {
  return token?.show ? { ...deployment, token: token.value } : deployment;
}

export const TOKEN_NOTE = "the token is in the deployment's environment; --show-token prints it, `mp deploy token rotate` makes a new one";

/** A NOT_FOUND about a deployment gets a next step; every other error passes unchanged. */
export function withDeploymentHint(error: unknown): unknown {
  if (error instanceof CliError && error.exitCode === ExitCode.NOT_FOUND && !error.hint && !error.message.includes('mp deploy list')) {
    return new CliError(error.message, error.exitCode, {
      hint: 'List your deployments with `mp deploy list`.',
      details: error.details,
      requestId: error.requestId,
      cause: error.cause,
    });
  }
  return error;
}
