import type { AbortReason } from '../../providers/provider';
import type { TrainingRunEntity } from './training-run.entity';
import { costMicros, formatUsd, microsFromDecimal } from './money';

/**
 * A run's timeout and budget while it runs here: aborts the run's controller with TIMED_OUT
 * (counted from the run's start, across a take-over) or BUDGET_EXCEEDED (price per hour x time
 * running, checked four times a second), and hands the cost so far to `storeCost` every 5 s.
 * Cost accrues from the job's own start whoever follows it: an adopted RUNNING run counts from
 * when it became RUNNING (its history), or from what the provider says it has executed.
 */
export class RunMeter {
  private readonly timers: NodeJS.Timeout[] = [];
  private since: number | null;

  constructor(
    run: TrainingRunEntity,
    private readonly pricePerHourUsd: string,
    controller: AbortController,
    storeCost: (costUsd: string) => void,
  ) {
    this.since = run.status === 'RUNNING' ? runningSince(run) : null;
    const budgetMicros = microsFromDecimal(run.maxBudgetUsd);
    const elapsedBefore = run.startedAt ? Math.max(0, Date.now() - run.startedAt.getTime()) : 0;
    this.timers.push(setTimeout(() => controller.abort('TIMED_OUT' satisfies AbortReason), Math.max(0, run.timeoutSeconds * 1000 - elapsedBefore)));
    let lastStoredCost = '';
    let ticks = 0;
    this.timers.push(
      setInterval(() => {
        if (this.since === null) return;
        const micros = costMicros(pricePerHourUsd, (Date.now() - this.since) / 1000);
        if (micros >= budgetMicros) controller.abort('BUDGET_EXCEEDED' satisfies AbortReason);
        const cost = formatUsd(micros);
        ticks += 1;
        if (cost !== lastStoredCost && ticks % 20 === 0) {
          lastStoredCost = cost;
          storeCost(cost);
        }
      }, 250),
    );
  }

  /** When the job started running (ms since the epoch) as seen here, or null while it has not. */
  get runningSince(): number | null {
    return this.since;
  }

  /** The job runs: cost accrues from now. Returns false when it was already running. */
  markRunning(): boolean {
    if (this.since !== null) return false;
    this.since = Date.now();
    return true;
  }

  /** The cost so far, as stored; undefined while the job has not run. */
  costSoFar(): string | undefined {
    return this.since === null ? undefined : formatUsd(costMicros(this.pricePerHourUsd, (Date.now() - this.since) / 1000));
  }

  /** The provider says the job has executed `seconds` so far (RunPod's executionTime): that, not our view, is its start. */
  executed(seconds: number): void {
    if (Number.isFinite(seconds) && seconds >= 0) this.since = Date.now() - seconds * 1000;
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
  }
}

/** When the run became RUNNING, by its history; now when the history does not say. */
function runningSince(run: TrainingRunEntity): number {
  const at = Date.parse(run.history.find((change) => change.to === 'RUNNING')?.at ?? '');
  return Number.isFinite(at) ? Math.min(at, Date.now()) : Date.now();
}
