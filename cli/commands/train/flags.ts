// The flags of the `mp train` commands: choices from the generated enums and their parsers.
// Imported by builders, so it stays light (`mp --version` must not load more).
import { ComputeProviderName, TrainingRunStatus } from '../../../generated/schema-types';
import { enumChoices, enumValue, toEnum } from '../../enum-choices';

export const PROVIDERS = enumChoices(ComputeProviderName);
export type ProviderFlag = Lowercase<ComputeProviderName>;

/** Every status, in the generated (alphabetical) order. */
export const STATUSES: readonly TrainingRunStatus[] = Object.values(TrainingRunStatus);
export const ACTIVE_STATUSES: readonly TrainingRunStatus[] = [TrainingRunStatus.Queued, TrainingRunStatus.Starting, TrainingRunStatus.Running];

export function isActive(status: TrainingRunStatus): boolean {
  return ACTIVE_STATUSES.includes(status);
}

/**
 * `--status running,queued` (also repeatable, any case; `active` means queued, starting and
 * running; `finished` the other five). Throws naming the unknown word.
 */
export function parseStatuses(value: unknown): TrainingRunStatus[] {
  const words = (Array.isArray(value) ? value : [value])
    .flatMap((item) => String(item ?? '').split(','))
    .map((word) => word.trim().toUpperCase().replace(/-/g, '_'))
    .filter((word) => word.length > 0);
  if (words.length === 0) throw new Error(`--status needs at least one of ${statusChoices()}`);
  const statuses: TrainingRunStatus[] = [];
  for (const word of words) {
    const status = enumValue(TrainingRunStatus, word);
    if (word === 'ACTIVE') statuses.push(...ACTIVE_STATUSES);
    else if (word === 'FINISHED') statuses.push(...STATUSES.filter((candidate) => !isActive(candidate)));
    else if (status) statuses.push(status);
    else throw new Error(`invalid --status "${word.toLowerCase()}": choose from ${statusChoices()} (comma-separated)`);
  }
  return [...new Set(statuses)];
}

/** The words --status takes: every status in lower case, then `active` and `finished`. */
export function statusChoices(): string {
  return [...enumChoices(TrainingRunStatus), 'active', 'finished'].join(', ');
}

export function providerEnum(provider: ProviderFlag): ComputeProviderName {
  return toEnum(ComputeProviderName, provider);
}
