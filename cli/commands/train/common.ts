// Shared by the `mp train` commands (not a command itself): flag parsers and the words and
// layouts used for training runs. Only types are imported at the top: builders use the
// parsers, and `mp --version` must not load more than that.
// The enums' runtime lists come from generated/schema-types.ts (small, no server code).
import type { TrainingRunFieldsFragment, TrainRunQuery } from '../../../generated/cli-operations';
import { ComputeProviderName, ModelTask, TrainingRunStatus } from '../../../generated/schema-types';
import { enumChoices, enumValue, toEnum } from '../../enum-choices';
import { CliError, ExitCode } from '../../errors';
import type { Column, Style } from '../../output';

export const TASKS = enumChoices(ModelTask);
export type TaskName = Lowercase<ModelTask>;
export const PROVIDERS = enumChoices(ComputeProviderName);
export type ProviderFlag = Lowercase<ComputeProviderName>;

/** Every status, in the generated (alphabetical) order. */
export const STATUSES: readonly TrainingRunStatus[] = Object.values(TrainingRunStatus);
export const ACTIVE_STATUSES: readonly TrainingRunStatus[] = [TrainingRunStatus.Queued, TrainingRunStatus.Starting, TrainingRunStatus.Running];

export function isActive(status: TrainingRunStatus): boolean {
  return ACTIVE_STATUSES.includes(status);
}

export const STATUS_STYLE: Record<TrainingRunStatus, Style> = {
  QUEUED: 'cyan',
  STARTING: 'cyan',
  RUNNING: 'blue',
  SUCCEEDED: 'green',
  FAILED: 'red',
  CANCELLED: 'yellow',
  TIMED_OUT: 'red',
  BUDGET_EXCEEDED: 'red',
};

/** `--round 3` or `--round current` (the newest OPEN round: `round` is left out of the spec). */
export type RoundRef = number | 'current';

export function parseRound(value: unknown): RoundRef {
  const text = String(value ?? '').trim().toLowerCase();
  if (text === 'current') return 'current';
  if (/^\d+$/.test(text)) {
    const number = Number(text);
    if (Number.isSafeInteger(number) && number >= 1 && number <= 2_147_483_647) return number;
  }
  throw new Error(`invalid --round "${String(value)}": use a round number (1, 2, ...) or "current"`);
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

export const MAX_LIMIT = 100;

export function parseLimit(value: unknown): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1 || number > MAX_LIMIT) {
    throw new Error(`--limit must be a whole number from 1 to ${MAX_LIMIT}`);
  }
  return number;
}

/** A whole number of at least `min`, for `--after` (0 and up) and `--tail` (1 and up). */
export function parseCount(flag: string, min: number): (value: unknown) => number {
  return (value: unknown) => {
    const text = String(value ?? '').trim();
    const number = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(number) || number < min) {
      throw new Error(`invalid ${flag} "${text}": use a whole number${min > 0 ? ` of at least ${min}` : ''}`);
    }
    return number;
  };
}

export function taskEnum(task: TaskName): ModelTask {
  return toEnum(ModelTask, task);
}

export function providerEnum(provider: ProviderFlag): ComputeProviderName {
  return toEnum(ComputeProviderName, provider);
}

/** The words for a status in tables and messages: `running`, `timed out`. */
export function statusLabel(status: TrainingRunStatus): string {
  return status.toLowerCase().replace(/_/g, ' ');
}

/** Seconds from start to finish, or to `now` while it runs; null before it started. */
export function runSeconds(
  run: Pick<TrainingRunFieldsFragment, 'startedAt' | 'finishedAt'>,
  now: Date = new Date(),
): number | null {
  if (!run.startedAt) return null;
  const end = run.finishedAt ? new Date(run.finishedAt) : now;
  return Math.max(0, (end.getTime() - new Date(run.startedAt).getTime()) / 1000);
}

/** "812 B", "12.3 kB", "40.1 MB": decimal units, as disk tools show them. */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1000) return `${Math.max(0, Math.round(bytes || 0))} B`;
  let value = bytes;
  let unit = 'B';
  for (const next of ['kB', 'MB', 'GB', 'TB']) {
    if (value < 1000) break;
    value /= 1000;
    unit = next;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${unit}`;
}

/** The last value of a metric, as shown in tables: 4 significant digits. */
export function formatMetricValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e5 || abs < 1e-4) return value.toExponential(3);
  return String(Number(value.toPrecision(4)));
}

/** The newest value of the first metric present among `names` (e.g. val_corr, then valid_corr). */
export function lastMetric(run: Pick<TrainingRunFieldsFragment, 'metrics'>, names: readonly string[]): string {
  for (const name of names) {
    const metric = run.metrics.find((candidate) => candidate.name === name);
    if (metric) return formatMetricValue(metric.last);
  }
  return '-';
}

export const VAL_CORR_NAMES = ['val_corr', 'validation_corr', 'valid_corr', 'val_correlation', 'corr'] as const;
export const LOSS_NAMES = ['loss', 'train_loss', 'val_loss'] as const;

/** The columns of `mp train status` (the list); formatters are passed in so this file stays light. */
export function runColumns(
  format: { date: (iso: string) => string; duration: (seconds: number) => string; usd: (decimal: string) => string },
  now: Date = new Date(),
): Column<TrainingRunFieldsFragment>[] {
  return [
    { header: 'id', value: (r) => r.id, style: () => 'cyan' },
    { header: 'status', value: (r) => statusLabel(r.status), style: (r) => STATUS_STYLE[r.status] },
    { header: 'task', value: (r) => r.spec.task.toLowerCase() },
    { header: 'round', value: (r) => String(r.spec.round) },
    { header: 'gpu', value: (r) => r.spec.gpuType },
    { header: 'provider', value: (r) => r.provider.toLowerCase() },
    { header: 'queued', value: (r) => format.date(r.queuedAt) },
    {
      header: 'duration',
      value: (r) => {
        const seconds = runSeconds(r, now);
        return seconds === null ? '-' : format.duration(seconds);
      },
    },
    { header: 'cost', value: (r) => format.usd(r.costUsd) },
    { header: 'val_corr', value: (r) => lastMetric(r, VAL_CORR_NAMES) },
    { header: 'loss', value: (r) => lastMetric(r, LOSS_NAMES) },
  ];
}

export type TrainingRunDetail = TrainRunQuery['trainingRun'];

/** "trn_… (CANCELLED)" for messages. */
export function runLabel(run: { id: string; status: TrainingRunStatus }): string {
  return `${run.id} (${run.status})`;
}

/** The message for a run that ended without success: "run trn_x FAILED: exit code 1: boom". */
export function failureMessage(run: {
  id: string;
  status: TrainingRunStatus;
  failureReason: string | null;
  exitCode: number | null;
}): string {
  const reason =
    run.failureReason?.trim() ||
    (run.exitCode !== null && run.exitCode !== 0 ? `exit code ${run.exitCode}` : defaultReason(run.status));
  return `run ${run.id} ${run.status}: ${reason}`;
}

function defaultReason(status: TrainingRunStatus): string {
  switch (status) {
    case 'CANCELLED':
      return 'stopped before it finished';
    case 'TIMED_OUT':
      return 'it ran longer than its timeout';
    case 'BUDGET_EXCEEDED':
      return 'it cost more than its budget';
    default:
      return 'no reason given';
  }
}

/**
 * Removes terminal control sequences and other C0/C1 controls (but tabs) from a line a
 * training program printed, before it reaches a terminal: a log must not move the cursor,
 * retitle the window or hide text.
 */
export function sanitizeForTerminal(line: string): string {
  /* eslint-disable no-control-regex -- these patterns match terminal control sequences on purpose */
  return line
    .replace(/\u001b\[[0-?]*[ -/]*[@-~]/g, '')
    .replace(/\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g, '')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '\ufffd');
  /* eslint-enable no-control-regex */
}

/** A NOT_FOUND about a run gets a next step; every other error passes unchanged. */
export function withRunHint(error: unknown): unknown {
  if (error instanceof CliError && error.exitCode === ExitCode.NOT_FOUND && !error.hint && !error.message.includes('mp train status')) {
    return new CliError(error.message, error.exitCode, {
      hint: 'List your runs with `mp train status`.',
      details: error.details,
      requestId: error.requestId,
      cause: error.cause,
    });
  }
  return error;
}
