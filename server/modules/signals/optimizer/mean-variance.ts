import { DomainError, badInput } from '../../../domain-error';
import { assertFeasible, FEASIBILITY_SLACK, type PortfolioConstraints } from './constraints';
import { multiply, quadraticForm, type SymmetricMatrix } from './covariance';
import { quadprogSolver, type LinearConstraint, type QpSolver } from './qp-solver';

export interface MeanVarianceProblem {
  /** μ, one per asset, in the covariance's units (daily here). */
  readonly expectedReturns: ArrayLike<number>;
  /** Σ, positive definite. */
  readonly covariance: SymmetricMatrix;
  /** λ > 0. Scaling μ and Σ by the same horizon leaves the weights unchanged, so λ has no unit. */
  readonly riskAversion: number;
  readonly constraints: PortfolioConstraints;
}

export interface MeanVarianceSolution {
  readonly weights: Float64Array;
  /** w·μ. */
  readonly expectedReturn: number;
  /** √(wᵀΣw). */
  readonly risk: number;
  /** w·μ - (λ/2)·wᵀΣw, the maximised utility. */
  readonly utility: number;
  readonly diagnostics: {
    /** QP solves, one per working set tried. */
    readonly rounds: number;
    /** Variables in the last QP, of the full problem's 2n (long/short) or n (one-sided). */
    readonly workingSetSize: number;
    readonly solverIterations: number;
  };
}

/** Working sets start at least this large and grow by at least this much. */
const MIN_WORKING_SET = 16;
const MIN_GROWTH = 8;
/** A reduced cost this negative (the objective is scaled to a unit mean curvature) is a KKT violation. */
const KKT_TOLERANCE = 1e-9;

/**
 * Maximise w·μ - (λ/2)·wᵀΣw under the constraints (see PortfolioConstraints), as the QP
 * min ½xᵀHx - c·x over x ≥ 0 (see Formulation): long/short with x = (w⁺, w⁻) and
 * w = w⁺ - w⁻, 2n variables, so that Σ|w_i| ≤ L is the linear Σ(w⁺ + w⁻) ≤ L and |w_i| ≤ m
 * is w± ≤ m; long-only with x = w.
 *
 * The QP solver's work grows steeply with the number of variables (quadprog takes seconds for
 * 500), while an optimal portfolio holds few of them. So the QP is solved on a working set of
 * variables, all others held at 0, and the full problem's KKT conditions are then checked for
 * the rest: a variable held at 0 must have a non-negative reduced cost
 * r_k = (Hx - c)_k - Σ_rows y·a_k under the restricted solution's row multipliers y. The most
 * violating variables join the set and the QP is solved again; each round strictly lowers the
 * objective, so it ends, at the optimum of the full problem. A working set holds at most one
 * of w⁺_i, w⁻_i: when one side violates, the other is at 0 (its reduced cost and the gross
 * multiplier prove it), so it is swapped out, which keeps the QP's Hessian positive definite
 * without a ridge.
 */
export function optimizeMeanVariance(problem: MeanVarianceProblem, solver: QpSolver = quadprogSolver): MeanVarianceSolution {
  const { expectedReturns: mu, covariance, riskAversion: lambda, constraints } = problem;
  const n = mu.length;
  if (!Number.isFinite(lambda) || lambda <= 0) throw badInput('riskAversion', `must be a positive number, got ${lambda}`);
  if (n === 0) throw badInput('symbols', 'give at least one symbol');
  if (covariance.size !== n) throw new Error(`the covariance is ${covariance.size} × ${covariance.size} for ${n} expected returns`);
  assertFeasible(constraints, n);

  const form = formulate(constraints, n);
  const { size, asset, side, rows } = form;
  const equalityRows = rows.filter((row) => row.equality);
  const inequalityRows = rows.filter((row) => !row.equality);
  const sigma = covariance.values;
  // A unit mean curvature makes the solver's and our tolerances absolute.
  let meanVariance = 0;
  for (let i = 0; i < n; i += 1) meanVariance += sigma[i * n + i] / n;
  const scale = meanVariance > 0 ? 1 / (lambda * meanVariance) : 1;

  const ranked = rankVariables(problem, form);
  const workingSet = initialWorkingSet(form, ranked, constraints.maxWeight);
  const inSet = new Uint8Array(size);
  for (const k of workingSet) inSet[k] = 1;

  let rounds = 0;
  let solverIterations = 0;
  for (;;) {
    rounds += 1;
    // Each round adds at least one variable (a swap keeps the size), so this many is a bug.
    if (rounds > 4 * size + 10) throw new Error(`the working-set loop did not settle in ${rounds - 1} rounds`);
    const m = workingSet.length;
    const hessian = new Float64Array(m * m);
    const linear = new Float64Array(m);
    for (let a = 0; a < m; a += 1) {
      const ka = workingSet[a];
      linear[a] = scale * side(ka) * mu[asset(ka)];
      for (let b = 0; b < m; b += 1) {
        const kb = workingSet[b];
        hessian[a * m + b] = scale * lambda * side(ka) * side(kb) * sigma[asset(ka) * n + asset(kb)];
      }
    }
    const restrict = (row: ConstraintRow): LinearConstraint => ({ coefficients: workingSet.map((k) => row.coefficient(side(k))), rhs: row.rhs });
    const outcome = solver.solve({
      size: m,
      hessian,
      linear,
      equalities: equalityRows.map(restrict),
      inequalities: inequalityRows.map(restrict),
      lower: new Float64Array(m),
      upper: new Float64Array(m).fill(constraints.maxWeight),
    });
    if (outcome.status === 'not-positive-definite') {
      throw new DomainError(
        'PRECONDITION_FAILED',
        `the covariance matrix is not positive definite (${outcome.message}): two symbols move identically or one never moves; drop one of them or use a shrunk covariance`,
      );
    }
    if (outcome.status === 'infeasible') {
      // The first working set is made large enough to hold a feasible portfolio, so this is a
      // safeguard: widen the set, and give up once every asset is in it.
      if (!growWorkingSet(workingSet, inSet, form, ranked, Math.max(MIN_GROWTH, m))) throw solverInfeasible(constraints, outcome.message);
      continue;
    }
    solverIterations += outcome.iterations;

    const weights = new Float64Array(n);
    const x = new Float64Array(size);
    workingSet.forEach((k, a) => {
      x[k] = outcome.x[a];
      weights[asset(k)] += side(k) * outcome.x[a];
    });
    const sigmaW = multiply(covariance, weights);
    const reducedCost = (k: number) => {
      const s = side(k);
      let r = scale * s * (lambda * sigmaW[asset(k)] - mu[asset(k)]);
      equalityRows.forEach((row, e) => (r -= outcome.equalityMultipliers[e] * row.coefficient(s)));
      inequalityRows.forEach((row, e) => (r -= outcome.inequalityMultipliers[e] * row.coefficient(s)));
      return r;
    };

    const violators: { k: number; r: number }[] = [];
    for (let k = 0; k < size; k += 1) {
      if (inSet[k]) continue;
      const r = reducedCost(k);
      if (r < -KKT_TOLERANCE) violators.push({ k, r });
    }
    violators.sort((a, b) => a.r - b.r);
    let added = 0;
    const budget = Math.max(MIN_GROWTH, Math.ceil(m / 2));
    for (const { k } of violators) {
      if (added >= budget) break;
      const other = form.otherSide(k);
      if (other !== null && inSet[other]) {
        // At the restricted optimum the other side is 0 whenever this side violates; if it is
        // not (rounding at the tolerance), the violation is noise: leave it.
        if (x[other] > 1e-12) continue;
        inSet[other] = 0;
        workingSet.splice(workingSet.indexOf(other), 1);
      }
      inSet[k] = 1;
      workingSet.push(k);
      added += 1;
    }
    if (added === 0) {
      const variance = Math.max(0, quadraticForm(covariance, weights));
      let expectedReturn = 0;
      for (let i = 0; i < n; i += 1) expectedReturn += weights[i] * mu[i];
      return {
        weights,
        expectedReturn,
        risk: Math.sqrt(variance),
        utility: expectedReturn - (lambda / 2) * variance,
        diagnostics: { rounds, workingSetSize: workingSet.length, solverIterations },
      };
    }
  }
}

/** A constraint row whose coefficient depends only on whether a variable is a long (+1) or short (-1) side. */
interface ConstraintRow {
  readonly equality: boolean;
  readonly rhs: number;
  coefficient(side: number): number;
}

/** How the weights map onto the QP's variables x ≥ 0: w_asset(k) += side(k)·x_k. */
interface Formulation {
  readonly size: number;
  asset(k: number): number;
  side(k: number): 1 | -1;
  /** The variable for the same asset's other side, when there is one. */
  otherSide(k: number): number | null;
  readonly rows: ConstraintRow[];
  /** The budget a one-sided portfolio must invest on its side (1 long-only), or the net of a split one; 0 when free. */
  readonly budget: number;
  readonly budgetSide: 1 | -1;
}

function formulate(constraints: PortfolioConstraints, n: number): Formulation {
  const { longOnly, netExposure, grossLeverage } = constraints;
  // One-sided: long-only, or a net as large as the gross, which leaves the other side no room
  // (w = sign(net)·x with Σx = |net|). Formulated split, that case would have every
  // other-side variable pinned at 0 by two tied rows, whose multipliers are then not unique:
  // the KKT check would pull in variables that can never move.
  if (longOnly || (netExposure !== null && Math.abs(netExposure) >= grossLeverage - FEASIBILITY_SLACK)) {
    const direction = longOnly || (netExposure as number) > 0 ? 1 : -1;
    const budget = longOnly ? 1 : Math.abs(netExposure as number);
    return {
      size: n,
      asset: (k) => k,
      side: () => direction,
      otherSide: () => null,
      rows: [{ equality: true, rhs: budget, coefficient: () => 1 }],
      budget,
      budgetSide: direction,
    };
  }
  const rows: ConstraintRow[] = [];
  // Σ(w⁺ - w⁻) = net.
  if (netExposure !== null) rows.push({ equality: true, rhs: netExposure, coefficient: (side) => side });
  // Σ(w⁺ + w⁻) ≤ L, as -Σ(w⁺ + w⁻) ≥ -L.
  rows.push({ equality: false, rhs: -grossLeverage, coefficient: () => -1 });
  return {
    size: 2 * n,
    asset: (k) => (k < n ? k : k - n),
    side: (k) => (k < n ? 1 : -1),
    otherSide: (k) => (k < n ? k + n : k - n),
    rows,
    budget: Math.abs(netExposure ?? 0),
    budgetSide: (netExposure ?? 0) < 0 ? -1 : 1,
  };
}

/**
 * The variables a first guess would hold: the best side of each asset, ranked, enough of them
 * to hold a feasible portfolio (budget / maxWeight on the budget's side) twice over.
 */
function initialWorkingSet(form: Formulation, ranked: number[], maxWeight: number): number[] {
  const assets = form.otherSide(0) === null ? form.size : form.size / 2;
  const needed = Math.ceil(form.budget / maxWeight - FEASIBILITY_SLACK);
  const target = Math.min(assets, Math.max(MIN_WORKING_SET, 2 * needed));
  const chosen: number[] = [];
  const taken = new Uint8Array(assets);
  for (const k of ranked) {
    if (chosen.length >= target) break;
    if (taken[form.asset(k)]) continue;
    taken[form.asset(k)] = 1;
    chosen.push(k);
  }
  // The budget needs enough variables on its side (a split set may lean the other way).
  let onSide = chosen.filter((k) => form.side(k) === form.budgetSide).length;
  for (const k of ranked) {
    if (onSide >= needed) break;
    if (form.side(k) !== form.budgetSide || chosen.includes(k)) continue;
    const other = form.otherSide(k);
    const at = other === null ? -1 : chosen.indexOf(other);
    if (at >= 0) chosen.splice(at, 1);
    chosen.push(k);
    onSide += 1;
  }
  return chosen;
}

/** Adds the best side of up to `count` assets not yet in the set; false when every asset is in it. */
function growWorkingSet(workingSet: number[], inSet: Uint8Array, form: Formulation, ranked: number[], count: number): boolean {
  let added = 0;
  for (const k of ranked) {
    if (added >= count) break;
    const other = form.otherSide(k);
    if (inSet[k] || (other !== null && inSet[other])) continue;
    inSet[k] = 1;
    workingSet.push(k);
    added += 1;
  }
  return added > 0;
}

/** All variables, most attractive first: by the stand-alone optimum side·μ_i / (λσ_i²). */
function rankVariables(problem: MeanVarianceProblem, form: Formulation): number[] {
  const { expectedReturns: mu, covariance } = problem;
  const n = mu.length;
  const score = new Float64Array(form.size);
  for (let k = 0; k < form.size; k += 1) {
    const i = form.asset(k);
    const variance = covariance.values[i * n + i];
    score[k] = (form.side(k) * mu[i]) / (variance > 0 ? variance : 1);
  }
  return Array.from({ length: form.size }, (_, k) => k).sort((a, b) => score[b] - score[a] || a - b);
}

function solverInfeasible(constraints: PortfolioConstraints, message: string): DomainError {
  const named = constraints.longOnly
    ? 'maxWeight with full investment (Σw = 1)'
    : `maxWeight, grossLeverage${constraints.netExposure === null ? '' : ' and netExposure'}`;
  return new DomainError('PRECONDITION_FAILED', `infeasible constraints: the QP solver found no portfolio meeting ${named} (${message}); relax one of them`);
}
