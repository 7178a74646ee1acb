// How training runs look in `mp train` output: status words and colors, table columns,
// metric values, failure messages, terminal-safe log lines.
import type { TrainingRunFieldsFragment, TrainRunQuery } from '../../../generated/cli-operations';
import type { TrainingRunStatus } from '../../../generated/schema-types';
import { CliError, ExitCode } from '../../errors';
import type { Column, Style } from '../../output';

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

/** The words for a status in tables and messages: `running`, `timed out`. */
export function statusLabel(status: TrainingRunStatus): string {
  return status.toLowerCase().replace(/_/g, ' ');
}

/** Seconds from start to finish, or to `now` while it runs; null before it started. */
export function runSeconds(run: Pick<TrainingRunFieldsFragment, 'startedAt' | 'finishedAt'>, now: Date = new Date()): number | null {
  if (!run.startedAt) return null;
  const end = run.finishedAt ? new Date(run.finishedAt) : now;
  return Math.max(0, (end.getTime() - new Date(run.startedAt).getTime()) / 1000);
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
    { header: 'cost', value: (r) => (r.costStatus === 'UNKNOWN' ? 'unknown' : format.usd(r.costUsd)) },
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
export function failureMessage(run: { id: string; status: TrainingRunStatus; failureReason: string | null; exitCode: number | null }): string {
  const reason = run.failureReason?.trim() || (run.exitCode !== null && run.exitCode !== 0 ? `exit code ${run.exitCode}` : defaultReason(run.status));
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
