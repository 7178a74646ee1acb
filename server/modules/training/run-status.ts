import type { EntityManager } from 'typeorm';
import { DomainError } from '../../domain-error';
import { updateReturning } from '../../db/returning';
import { TrainingRunEntity, type TrainingRunStatus } from './training-run.entity';
import type { TrainingCostStatus } from '../../../generated/schema-types';

export const FINAL_STATUSES: readonly TrainingRunStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'BUDGET_EXCEEDED'];

/** QUEUED -> STARTING -> RUNNING -> SUCCEEDED | FAILED | CANCELLED | TIMED_OUT | BUDGET_EXCEEDED, and QUEUED -> CANCELLED. */
const PREVIOUS: Record<TrainingRunStatus, TrainingRunStatus[]> = {
  QUEUED: [],
  STARTING: ['QUEUED'],
  RUNNING: ['STARTING'],
  SUCCEEDED: ['RUNNING'],
  // STARTING may fail too: a round file that does not verify, a provider that refuses the job.
  FAILED: ['STARTING', 'RUNNING'],
  CANCELLED: ['QUEUED', 'STARTING', 'RUNNING'],
  TIMED_OUT: ['STARTING', 'RUNNING'],
  BUDGET_EXCEEDED: ['STARTING', 'RUNNING'],
};

export function isFinal(status: TrainingRunStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

export interface TransitionFields {
  reason?: string | null;
  exitCode?: number | null;
  costUsd?: string;
  costStatus?: TrainingCostStatus;
  costNote?: string | null;
  workerId?: string | null;
  leaseSeconds?: number;
}

/**
 * The one way a run's status changes: a conditional UPDATE that only succeeds from a legal
 * previous status (so a stop racing with a finish cannot produce two endings), recording
 * when and why in the run's history. Throws PRECONDITION_FAILED for an illegal change.
 */
export async function transitionRun(manager: EntityManager, runId: string, to: TrainingRunStatus, fields: TransitionFields = {}): Promise<TrainingRunEntity> {
  const from = PREVIOUS[to];
  const change = JSON.stringify([{ to, at: new Date().toISOString(), reason: fields.reason ?? null }]);
  const sets = [
    'status = $2',
    // The history entry's "from" is filled in from the row itself, in the same statement.
    `history = history || jsonb_set($3::jsonb, '{0,from}', to_jsonb(status))`,
  ];
  const values: unknown[] = [runId, to, change, from];
  const add = (sql: string, value: unknown) => {
    values.push(value);
    sets.push(sql.replace('?', `$${values.length}`));
  };
  if (to === 'STARTING') sets.push('started_at = now()');
  if (isFinal(to)) sets.push('finished_at = now()', 'lease_expires_at = NULL');
  if (to === 'STARTING' && fields.workerId) {
    add('worker_id = ?', fields.workerId);
    add(`lease_expires_at = now() + make_interval(secs => ?)`, fields.leaseSeconds ?? 30);
  }
  if (fields.exitCode !== undefined) add('exit_code = ?', fields.exitCode);
  if (fields.reason !== undefined && (to === 'FAILED' || to === 'TIMED_OUT' || to === 'BUDGET_EXCEEDED' || to === 'CANCELLED'))
    add('failure_reason = ?', fields.reason);
  if (fields.costUsd !== undefined) add('cost_usd = ?', fields.costUsd);
  if (fields.costStatus !== undefined) add('cost_status = ?', fields.costStatus);
  if (fields.costNote !== undefined) add('cost_note = ?', fields.costNote);

  const updated = await updateReturning<{ id: string }>(
    manager,
    `UPDATE training_runs SET ${sets.join(', ')} WHERE id = $1 AND status = ANY($4::text[]) RETURNING id`,
    values,
  );
  if (updated.length === 0) {
    const current: { status: TrainingRunStatus }[] = await manager.query('SELECT status FROM training_runs WHERE id = $1', [runId]);
    if (current.length === 0) throw new DomainError('NOT_FOUND', `no training run ${runId}`);
    const status = current[0].status;
    throw new DomainError(
      'PRECONDITION_FAILED',
      isFinal(status) ? `run ${runId} already finished (${status})` : `run ${runId} is ${status}: it cannot become ${to}`,
    );
  }
  return manager.getRepository(TrainingRunEntity).findOneByOrFail({ id: runId });
}

/**
 * A history entry that is no change of status (from = to): a hand-over or an adoption between
 * server processes. Only while the run is active.
 */
export async function noteInHistory(manager: Pick<EntityManager, 'query'>, runId: string, reason: string): Promise<boolean> {
  const updated = await updateReturning<{ id: string }>(
    manager,
    `UPDATE training_runs SET history = history || jsonb_build_array(jsonb_build_object('from', status, 'to', status, 'at', $2::text, 'reason', $3::text))
      WHERE id = $1 AND status IN ('STARTING', 'RUNNING') RETURNING id`,
    [runId, new Date().toISOString(), reason],
  );
  return updated.length > 0;
}
