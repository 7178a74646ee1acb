import { solveQP } from 'quadprog';

/** a·x = rhs or a·x ≥ rhs. */
export interface LinearConstraint {
  readonly coefficients: ArrayLike<number>;
  readonly rhs: number;
}

/**
 * A dense convex quadratic program: minimise ½xᵀHx - linear·x subject to the equalities
 * (a·x = rhs), the inequalities (a·x ≥ rhs) and lower ≤ x ≤ upper.
 */
export interface QuadraticProgram {
  readonly size: number;
  /** Symmetric positive definite, size × size, row-major. */
  readonly hessian: ArrayLike<number>;
  readonly linear: ArrayLike<number>;
  readonly equalities?: readonly LinearConstraint[];
  readonly inequalities?: readonly LinearConstraint[];
  /** Per variable; -Infinity (or absent) for none. */
  readonly lower?: ArrayLike<number>;
  /** Per variable; Infinity (or absent) for none. */
  readonly upper?: ArrayLike<number>;
}

/**
 * The solution with the multipliers of the Lagrangian L = f(x) - Σ y_k (a_k·x - rhs_k):
 * at the optimum ∇f(x) = Σ y_k a_k over all constraints (bounds included), an inequality's
 * y is ≥ 0 and an equality's has either sign.
 */
export interface QpOptimum {
  readonly status: 'optimal';
  readonly x: Float64Array;
  readonly objective: number;
  readonly equalityMultipliers: Float64Array;
  readonly inequalityMultipliers: Float64Array;
  readonly iterations: number;
}

export type QpOutcome =
  QpOptimum | { readonly status: 'infeasible'; readonly message: string } | { readonly status: 'not-positive-definite'; readonly message: string };

/** What the optimizer needs from a QP solver; quadprogSolver is the one it uses. */
export interface QpSolver {
  /** For the optimizer's report of the inputs it used. */
  readonly name: string;
  solve(problem: QuadraticProgram): QpOutcome;
}

/** quadprog (npm), a port of R's quadprog: Goldfarb & Idnani's dual active-set method. */
export const quadprogSolver: QpSolver = {
  name: 'quadprog 1.6.1 (Goldfarb-Idnani dual active set)',
  solve: solveWithQuadprog,
};

interface Column {
  /** A dense constraint row, or a bound on one variable. */
  readonly coefficients?: ArrayLike<number>;
  readonly variable?: number;
  readonly sign: 1 | -1;
  readonly rhs: number;
}

function solveWithQuadprog(problem: QuadraticProgram): QpOutcome {
  const n = problem.size;
  const equalities = problem.equalities ?? [];
  const inequalities = problem.inequalities ?? [];
  // quadprog takes bounds only as constraint columns: lower as x_j ≥ l, upper as -x_j ≥ -u.
  const columns: Column[] = [
    ...equalities.map(({ coefficients, rhs }) => ({ coefficients, sign: 1 as const, rhs })),
    ...inequalities.map(({ coefficients, rhs }) => ({ coefficients, sign: 1 as const, rhs })),
  ];
  for (let j = 0; j < n; j += 1) {
    const lower = problem.lower?.[j] ?? -Infinity;
    if (lower > -Infinity) columns.push({ variable: j, sign: 1, rhs: lower });
  }
  for (let j = 0; j < n; j += 1) {
    const upper = problem.upper?.[j] ?? Infinity;
    if (upper < Infinity) columns.push({ variable: j, sign: -1, rhs: -upper });
  }
  const q = columns.length;

  // 1-based, index 0 filled with 0 so V8 keeps the rows as packed double arrays.
  const dmat: number[][] = [[]];
  const dvec: number[] = [0];
  const amat: number[][] = [[]];
  for (let i = 1; i <= n; i += 1) {
    const row = new Array<number>(n + 1).fill(0);
    for (let j = 1; j <= n; j += 1) row[j] = problem.hessian[(i - 1) * n + j - 1];
    dmat.push(row);
    dvec.push(problem.linear[i - 1]);
    amat.push(new Array<number>(q + 1).fill(0));
  }
  const bvec: number[] = [0];
  columns.forEach((column, k) => {
    if (column.coefficients) {
      for (let i = 1; i <= n; i += 1) amat[i][k + 1] = column.coefficients[i - 1];
    } else {
      amat[(column.variable as number) + 1][k + 1] = column.sign;
    }
    bvec.push(column.rhs);
  });

  const result = solveQP(dmat, dvec, amat, bvec, equalities.length);
  if (/inconsistent/.test(result.message)) return { status: 'infeasible', message: result.message };
  if (/positive definite/.test(result.message)) return { status: 'not-positive-definite', message: result.message };
  if (result.message || !result.solution || !result.Lagrangian) throw new Error(`quadprog rejected the problem: ${result.message}`);

  const x = Float64Array.from(result.solution.slice(1, n + 1));
  const lagrangian = result.Lagrangian;
  const gradient = new Float64Array(n);
  let objective = 0;
  for (let i = 0; i < n; i += 1) {
    let hx = 0;
    for (let j = 0; j < n; j += 1) hx += problem.hessian[i * n + j] * x[j];
    gradient[i] = hx - problem.linear[i];
    objective += x[i] * (hx / 2 - problem.linear[i]);
  }
  const inequalityMultipliers = Float64Array.from(inequalities, (_, k) => lagrangian[equalities.length + k + 1]);
  const equalityMultipliers = recoverEqualityMultipliers(columns, lagrangian, equalities, gradient);
  return { status: 'optimal', x, objective, equalityMultipliers, inequalityMultipliers, iterations: result.iterations?.[1] ?? 0 };
}

/**
 * quadprog reports an equality's multiplier for the row as it holds it, and it negates an
 * equality row internally when the starting point violates it from above, so the sign it
 * reports is not reliable. The multipliers are recovered instead from stationarity,
 * ∇f = Σ_eq y a + Σ_ineq λ a: least squares for y on the residual left by the (reliably
 * signed, non-negative) inequality and bound multipliers.
 */
function recoverEqualityMultipliers(columns: Column[], lagrangian: number[], equalities: readonly LinearConstraint[], gradient: Float64Array): Float64Array {
  const m = equalities.length;
  if (m === 0) return new Float64Array(0);
  const n = gradient.length;
  const residual = Float64Array.from(gradient);
  for (let k = m; k < columns.length; k += 1) {
    const multiplier = lagrangian[k + 1];
    if (multiplier === 0) continue;
    const column = columns[k];
    if (column.coefficients) {
      for (let i = 0; i < n; i += 1) residual[i] -= multiplier * column.coefficients[i];
    } else {
      residual[column.variable as number] -= multiplier * column.sign;
    }
  }
  // Normal equations (A Aᵀ) y = A r over the equality rows A.
  const normal = new Float64Array(m * m);
  const right = new Float64Array(m);
  for (let a = 0; a < m; a += 1) {
    for (let i = 0; i < n; i += 1) right[a] += equalities[a].coefficients[i] * residual[i];
    for (let b = 0; b < m; b += 1) {
      let dot = 0;
      for (let i = 0; i < n; i += 1) dot += equalities[a].coefficients[i] * equalities[b].coefficients[i];
      normal[a * m + b] = dot;
    }
  }
  return solveLinearSystem(normal, right, m);
}

/** Gaussian elimination with partial pivoting on a small dense system (overwrites its inputs). */
function solveLinearSystem(matrix: Float64Array, right: Float64Array, m: number): Float64Array {
  for (let col = 0; col < m; col += 1) {
    let pivot = col;
    for (let row = col + 1; row < m; row += 1) if (Math.abs(matrix[row * m + col]) > Math.abs(matrix[pivot * m + col])) pivot = row;
    if (matrix[pivot * m + col] === 0) throw new Error('the equality constraints are linearly dependent');
    if (pivot !== col) {
      for (let k = 0; k < m; k += 1) [matrix[col * m + k], matrix[pivot * m + k]] = [matrix[pivot * m + k], matrix[col * m + k]];
      [right[col], right[pivot]] = [right[pivot], right[col]];
    }
    for (let row = col + 1; row < m; row += 1) {
      const factor = matrix[row * m + col] / matrix[col * m + col];
      for (let k = col; k < m; k += 1) matrix[row * m + k] -= factor * matrix[col * m + k];
      right[row] -= factor * right[col];
    }
  }
  const y = new Float64Array(m);
  for (let row = m - 1; row >= 0; row -= 1) {
    let sum = right[row];
    for (let k = row + 1; k < m; k += 1) sum -= matrix[row * m + k] * y[k];
    y[row] = sum / matrix[row * m + row];
  }
  return y;
}
