import type { TrainingCostStatus } from '../../../generated/schema-types';
import { costMicros, formatUsd, microsFromDecimal } from './money';

export interface RecordedCost {
  costUsd: string;
  costStatus: TrainingCostStatus;
  costNote: string | null;
  /** For the run's last log line: "$0.0312", "$0.0312, $0.0012 over the $0.0300 budget", "unknown". */
  summary: string;
}

export interface CostInput {
  /** Null when no job was set up (nothing could have run). */
  pricePerHourUsd: string | null;
  executionSeconds: number;
  /** Who measured executionSeconds: "RunPod's executionTime" or "measured here". */
  measuredBy: string;
  maxBudgetUsd: string;
  /** Why the job may have run beyond what was seen (JobOutcome.costUnknown). */
  unknown?: string;
}

/**
 * The cost recorded when a run ends: price per hour x execution, never capped at the budget. An
 * overrun is recorded as it is, with how it came about (the budget is checked while the job runs
 * and stopping it takes effect only at the provider); a job that may have run unseen is UNKNOWN.
 */
export function recordedCost(input: CostInput): RecordedCost {
  const micros = input.pricePerHourUsd === null ? 0 : costMicros(input.pricePerHourUsd, input.executionSeconds);
  const costUsd = formatUsd(micros);
  if (input.unknown) return { costUsd, costStatus: 'UNKNOWN', costNote: input.unknown, summary: `unknown, at least $${costUsd}` };
  const budgetMicros = microsFromDecimal(input.maxBudgetUsd);
  if (micros <= budgetMicros) return { costUsd, costStatus: 'MEASURED', costNote: null, summary: `$${costUsd}` };
  const over = `$${formatUsd(micros - budgetMicros)} over the $${formatUsd(budgetMicros)} budget`;
  return {
    costUsd,
    costStatus: 'MEASURED',
    costNote: `${over}: the job executed ${input.executionSeconds.toFixed(1)} s (${input.measuredBy}) at $${input.pricePerHourUsd}/h, as the budget stops a job only once reached and stopping it takes effect at the provider a little later`,
    summary: `$${costUsd}, ${over}`,
  };
}
