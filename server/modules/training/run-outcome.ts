import type { AbortReason, JobOutcome } from '../../providers/provider';
import type { TrainingRunStatus } from './training-run.entity';

/** A run's final status and reason, from the provider's outcome, a failure in the worker, or why it was aborted. */
export function finalStatusOf(outcome: JobOutcome | null, failure: string | null, signal: AbortSignal): { status: TrainingRunStatus; reason: string | null } {
  if (!outcome) return { status: 'FAILED', reason: failure ?? 'the provider failed' };
  switch (outcome.status) {
    case 'SUCCEEDED':
      return { status: 'SUCCEEDED', reason: null };
    case 'FAILED':
      return { status: 'FAILED', reason: outcome.failureReason };
    case 'TIMED_OUT':
      return { status: 'TIMED_OUT', reason: outcome.failureReason ?? 'the provider timed the job out' };
    case 'ABORTED': {
      const why = signal.reason as AbortReason | undefined;
      if (why === 'TIMED_OUT') return { status: 'TIMED_OUT', reason: 'reached its timeout' };
      if (why === 'BUDGET_EXCEEDED') return { status: 'BUDGET_EXCEEDED', reason: 'reached its budget' };
      // A hand-over that found no provider job to hand over is a shutdown like any other.
      if (why === 'SHUTDOWN' || why === 'HANDOVER') return { status: 'FAILED', reason: 'server shut down during the run' };
      return { status: 'CANCELLED', reason: 'stopped by the vendor' };
    }
  }
}
