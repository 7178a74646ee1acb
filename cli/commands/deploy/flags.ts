// The flags of the deployment commands (mp deploy, mp heartbeat, mp link-infra): choices from the
// generated enums and their parsers. Imported by builders, so it stays light.
import { ComputeProviderName, DeploymentStatus, EndpointStatus } from '../../../generated/schema-types';
import { enumChoices, enumValue, toEnum } from '../../enum-choices';

export const PROVIDERS = enumChoices(ComputeProviderName);
export type ProviderFlag = Lowercase<ComputeProviderName>;

export const ENDPOINT_STATUSES = enumChoices(EndpointStatus);
export type EndpointStatusFlag = Lowercase<EndpointStatus>;

export const FINAL_STATUSES: readonly DeploymentStatus[] = [DeploymentStatus.Stopped, DeploymentStatus.Failed];
/** The statuses a deployment can still be stopped, rotated or linked in (its `actions` are not empty). */
export const LIVE_STATUSES: readonly DeploymentStatus[] = [
  DeploymentStatus.Pending,
  DeploymentStatus.Provisioning,
  DeploymentStatus.Starting,
  DeploymentStatus.Running,
];

export function isFinal(status: DeploymentStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

export function providerEnum(provider: ProviderFlag): ComputeProviderName {
  return toEnum(ComputeProviderName, provider);
}

export function endpointStatusEnum(status: EndpointStatusFlag): EndpointStatus {
  return toEnum(EndpointStatus, status);
}

/** The bounds CreateDeploymentInput takes (schema/deployments.graphql), for the messages of exit 2. */
export const LIMITS = {
  '--gpu-count': { min: 1, max: 8 },
  '--cpu': { min: 1, max: 64 },
  '--memory': { min: 1, max: 512 },
  '--heartbeat-seconds': { min: 1, max: 300 },
  '--rate-limit': { min: 1, max: 100_000 },
} as const;
export type LimitedFlag = keyof typeof LIMITS;

/** A whole number within the flag's bounds; throws naming the flag (yargs makes that exit 2). */
export function parseBounded(flag: LimitedFlag): (value: unknown) => number {
  const { min, max } = LIMITS[flag];
  return (value: unknown) => {
    const text = String(value ?? '').trim();
    const number = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(number) || number < min || number > max) {
      throw new Error(`invalid ${flag} "${text}": use a whole number from ${min} to ${max}`);
    }
    return number;
  };
}

export const MAX_GPU_TYPES = 8;

/**
 * `--gpu RTX4090,A100` (also repeatable): the GPU types to try, in order, without repeats.
 * `--gpu cpu` (or `none`) is the empty list: no GPU.
 */
export function parseGpuTypes(value: unknown): string[] {
  const words = (Array.isArray(value) ? value : [value])
    .flatMap((item) => String(item ?? '').split(','))
    .map((word) => word.trim())
    .filter((word) => word.length > 0);
  if (words.length === 0) throw new Error('--gpu needs at least one GPU type id, e.g. --gpu RTX4090,A100 (or --gpu cpu for none)');
  if (words.length === 1 && /^(cpu|none)$/i.test(words[0])) return [];
  const bad = words.find((word) => !/^[\w .-]{1,64}$/.test(word) || /^(cpu|none)$/i.test(word));
  if (bad !== undefined) throw new Error(`invalid --gpu "${bad}": a GPU type id such as RTX4090 or A100 (--gpu cpu alone for none)`);
  const unique = [...new Set(words)];
  if (unique.length > MAX_GPU_TYPES) throw new Error(`--gpu takes at most ${MAX_GPU_TYPES} GPU types`);
  return unique;
}

/** `--latency-ms 3.5`: a finite number of milliseconds, 0 or more. */
export function parseLatencyMs(value: unknown): number {
  const text = String(value ?? '').trim();
  const number = Number(text);
  if (text === '' || !Number.isFinite(number) || number < 0) throw new Error(`invalid --latency-ms "${text}": use a number of milliseconds, 0 or more`);
  return number;
}

/**
 * `--status running,starting` for `mp deploy list` (also repeatable, any case); `live` means
 * pending, provisioning, starting and running; `ended` stopped and failed.
 */
export function parseDeploymentStatuses(value: unknown): DeploymentStatus[] {
  const words = (Array.isArray(value) ? value : [value])
    .flatMap((item) => String(item ?? '').split(','))
    .map((word) => word.trim())
    .filter((word) => word.length > 0);
  if (words.length === 0) throw new Error(`--status needs at least one of ${statusChoices()}`);
  const statuses: DeploymentStatus[] = [];
  for (const word of words) {
    const lower = word.toLowerCase();
    const status = enumValue(DeploymentStatus, word);
    if (lower === 'live') statuses.push(...LIVE_STATUSES);
    else if (lower === 'ended') statuses.push(...FINAL_STATUSES);
    else if (status) statuses.push(status);
    else throw new Error(`invalid --status "${lower}": choose from ${statusChoices()} (comma-separated)`);
  }
  return [...new Set(statuses)];
}

export function statusChoices(): string {
  return [...enumChoices(DeploymentStatus), 'live', 'ended'].join(', ');
}
