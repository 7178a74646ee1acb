import { DomainError, badInput } from '../../../domain-error';

/** The contract's default largest weight of one symbol (OptimizerInferenceRequest.maxWeight). */
export const DEFAULT_MAX_WEIGHT = 0.1;
export const DEFAULT_GROSS_LEVERAGE = 1;
/** Long/short portfolios are dollar-neutral unless told otherwise. */
export const DEFAULT_NET_EXPOSURE = 0;

/** What a caller may say; everything left out takes the defaults above. */
export interface PortfolioConstraintsInput {
  /** No short positions (default true). */
  readonly longOnly?: boolean | null;
  /** The largest |w_i|, in (0, 1]. */
  readonly maxWeight?: number | null;
  /** The largest Σ|w_i|. */
  readonly grossLeverage?: number | null;
  /**
   * Long/short only: Σw_i, in [-grossLeverage, grossLeverage]; default 0 (dollar-neutral).
   * `null` leaves it free. A long-only portfolio is always fully invested (Σw_i = 1).
   */
  readonly netExposure?: number | null;
}

/**
 * The constraints as applied:
 * - long-only: 0 ≤ w_i ≤ maxWeight and Σw_i = 1 (fully invested, so the gross is exactly 1);
 * - long/short: -maxWeight ≤ w_i ≤ maxWeight, Σ|w_i| ≤ grossLeverage and, unless
 *   netExposure is null, Σw_i = netExposure.
 */
export interface PortfolioConstraints {
  readonly longOnly: boolean;
  readonly maxWeight: number;
  readonly grossLeverage: number;
  readonly netExposure: number | null;
}

/** Defaults filled in, each value checked (BAD_USER_INPUT naming the field). */
export function resolveConstraints(input: PortfolioConstraintsInput = {}, field = 'constraints'): PortfolioConstraints {
  const longOnly = input.longOnly ?? true;
  const maxWeight = input.maxWeight ?? DEFAULT_MAX_WEIGHT;
  const grossLeverage = input.grossLeverage ?? DEFAULT_GROSS_LEVERAGE;
  const netExposure = longOnly ? 1 : input.netExposure === undefined ? DEFAULT_NET_EXPOSURE : input.netExposure;
  if (!Number.isFinite(maxWeight) || maxWeight <= 0 || maxWeight > 1) throw badInput(`${field}.maxWeight`, `must be a number in (0, 1], got ${maxWeight}`);
  if (!Number.isFinite(grossLeverage) || grossLeverage <= 0) throw badInput(`${field}.grossLeverage`, `must be a positive number, got ${grossLeverage}`);
  if (netExposure !== null && !Number.isFinite(netExposure)) throw badInput(`${field}.netExposure`, `must be a finite number or null, got ${netExposure}`);
  return { longOnly, maxWeight, grossLeverage, netExposure };
}

/** Products like 10 × 0.1 must not fail a bound they meet exactly. */
export const FEASIBILITY_SLACK = 1e-12;

/**
 * Throws PRECONDITION_FAILED when no portfolio of `count` symbols meets the constraints,
 * naming the constraint and what would fix it. For these constraints (a box, a sum, an L1
 * ball) the conditions are exact: when they hold a portfolio exists.
 */
export function assertFeasible(constraints: PortfolioConstraints, count: number): void {
  const { longOnly, maxWeight, grossLeverage, netExposure } = constraints;
  if (longOnly) {
    if (maxWeight * count < 1 - FEASIBILITY_SLACK) {
      throw new DomainError(
        'PRECONDITION_FAILED',
        `infeasible maxWeight: a long-only portfolio is fully invested, and ${count} symbol(s) at most ${maxWeight} each add up to ${round(maxWeight * count)} < 1; ` +
          `raise maxWeight to at least ${roundUp(1 / count)} or optimize at least ${Math.ceil(1 / maxWeight - FEASIBILITY_SLACK)} symbols`,
      );
    }
    if (grossLeverage < 1 - FEASIBILITY_SLACK) {
      throw new DomainError(
        'PRECONDITION_FAILED',
        `infeasible grossLeverage: a long-only portfolio is fully invested, so its gross exposure is 1 > grossLeverage ${grossLeverage}; ` +
          `raise grossLeverage to at least 1 or allow short positions (longOnly: false)`,
      );
    }
    return;
  }
  if (netExposure === null) return;
  if (Math.abs(netExposure) > grossLeverage + FEASIBILITY_SLACK) {
    throw new DomainError(
      'PRECONDITION_FAILED',
      `infeasible netExposure: |netExposure| = ${Math.abs(netExposure)} exceeds grossLeverage ${grossLeverage}; lower |netExposure| or raise grossLeverage`,
    );
  }
  if (Math.abs(netExposure) > maxWeight * count + FEASIBILITY_SLACK) {
    throw new DomainError(
      'PRECONDITION_FAILED',
      `infeasible maxWeight: a net exposure of ${netExposure} needs ${count} symbol(s) at most ${maxWeight} each to reach ${Math.abs(netExposure)}, ` +
        `but they reach only ${round(maxWeight * count)}; raise maxWeight to at least ${roundUp(Math.abs(netExposure) / count)} or optimize more symbols`,
    );
  }
}

function round(value: number): number {
  return Number(value.toPrecision(6));
}

/** Six significant digits, never below `value`: a suggested bound the caller can use as it is. */
function roundUp(value: number): number {
  const rounded = round(value);
  return rounded >= value ? rounded : round(rounded + 10 ** (Math.floor(Math.log10(value)) - 5));
}
