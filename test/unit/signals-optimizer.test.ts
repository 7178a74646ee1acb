import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DomainError } from '../../server/domain-error';
import { random as randomSource } from '../helpers/random';
import {
  crossProduct,
  dailySimpleReturns,
  expectedReturnsFromScores,
  ledoitWolf,
  optimizeMeanVariance,
  optimizePortfolio,
  priceHistoryFromRows,
  quadprogSolver,
  resolveConstraints,
  standardizedRanks,
  type MeanVarianceSolution,
  type PortfolioConstraints,
  type PortfolioConstraintsInput,
  type PriceHistory,
  type QpOptimum,
  type QpSolver,
  type ReturnMatrix,
  type SymmetricMatrix,
} from '../../server/modules/signals/optimizer';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

function gaussianSource(seed: number): () => number {
  const uniform = randomSource(seed);
  return () => Math.sqrt(-2 * Math.log(uniform() || 1e-12)) * Math.cos(2 * Math.PI * uniform());
}

/** Closes of `count` symbols over `days` days: one market factor, a beta and an own volatility each. */
function syntheticPrices(count: number, days: number, seed: number): { prices: PriceHistory; symbols: string[] } {
  const gauss = gaussianSource(seed);
  const uniform = randomSource(seed + 1);
  const dates = Array.from({ length: days }, (_, k) => new Date(Date.UTC(2020, 0, 1 + k)).toISOString().slice(0, 10));
  const market = Array.from({ length: days }, () => 0.01 * gauss());
  const symbols: string[] = [];
  const closes: Record<string, number[]> = {};
  for (let i = 0; i < count; i += 1) {
    const symbol = `SYM${i}`;
    const beta = 0.5 + uniform();
    const volatility = 0.01 + 0.02 * uniform();
    const series = [100];
    for (let k = 1; k < days; k += 1) series.push(series[k - 1] * (1 + beta * market[k] + volatility * gauss()));
    symbols.push(symbol);
    closes[symbol] = series;
  }
  return { prices: { dates, closes }, symbols };
}

/** A T × p array (scikit-learn's layout) as a symbol-major ReturnMatrix. */
function returnMatrix(rows: number[][]): ReturnMatrix {
  const t = rows.length;
  const p = rows[0].length;
  const values = new Float64Array(p * t);
  for (let k = 0; k < t; k += 1) for (let i = 0; i < p; i += 1) values[i * t + k] = rows[k][i];
  return { symbols: Array.from({ length: p }, (_, i) => `S${i}`), observations: t, values };
}

function matrix(rows: number[][]): SymmetricMatrix {
  return { size: rows.length, values: Float64Array.from(rows.flat()) };
}

function entry(m: SymmetricMatrix, i: number, j: number): number {
  return m.values[i * m.size + j];
}

/** Solves A x = b by Gaussian elimination (A given as rows). */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let col = 0; col < n; col += 1) {
    let pivot = col;
    for (let row = col + 1; row < n; row += 1) if (Math.abs(m[row][col]) > Math.abs(m[pivot][col])) pivot = row;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    for (let row = 0; row < n; row += 1) {
      if (row === col) continue;
      const factor = m[row][col] / m[col][col];
      for (let k = col; k <= n; k += 1) m[row][k] -= factor * m[col][k];
    }
  }
  return m.map((row, i) => row[n] / row[i]);
}

/** The root of a decreasing function on [lo, hi] by bisection. */
function bisect(f: (x: number) => number, lo: number, hi: number): number {
  for (let k = 0; k < 200; k += 1) {
    const mid = (lo + hi) / 2;
    if (f(mid) > 0) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i += 1) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `${what}[${i}]: ${actual[i]} vs ${expected[i]} (tolerance ${tolerance})`);
  }
}

function sum(values: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < values.length; i += 1) total += values[i];
  return total;
}

function gross(values: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < values.length; i += 1) total += Math.abs(values[i]);
  return total;
}

function gradient(problem: { covariance: SymmetricMatrix; expectedReturns: ArrayLike<number>; riskAversion: number }, w: ArrayLike<number>): number[] {
  const { covariance, expectedReturns, riskAversion } = problem;
  return Array.from({ length: covariance.size }, (_, i) => {
    let s = 0;
    for (let j = 0; j < covariance.size; j += 1) s += entry(covariance, i, j) * w[j];
    return riskAversion * s - expectedReturns[i];
  });
}

/**
 * The constraints and KKT conditions of min (λ/2)wᵀΣw - μ·w, checked from the weights alone
 * (the multipliers are re-derived here, not taken from the solver).
 */
function assertOptimal(
  problem: { covariance: SymmetricMatrix; expectedReturns: ArrayLike<number>; riskAversion: number; constraints: PortfolioConstraints },
  w: ArrayLike<number>,
): void {
  const { maxWeight: m, grossLeverage: l, netExposure, longOnly } = problem.constraints;
  const eps = 1e-9;
  const g = gradient(problem, w);
  const scale = Math.max(...g.map(Math.abs), 1e-12);
  const tol = 1e-7 * scale;
  for (let i = 0; i < w.length; i += 1) {
    assert.ok(w[i] <= m + eps && w[i] >= (longOnly ? -eps : -m - eps), `w[${i}] = ${w[i]} is outside its bounds`);
  }
  if (longOnly) {
    assert.ok(Math.abs(sum(w) - 1) < eps, `long-only weights sum to ${sum(w)}`);
    // g_i = ν inside (0, m), ≥ ν at 0, ≤ ν at m.
    const inside = g.filter((_, i) => w[i] > eps && w[i] < m - eps);
    const atZero = g.filter((_, i) => w[i] <= eps);
    const atCap = g.filter((_, i) => w[i] >= m - eps);
    const low = Math.max(...atCap, ...inside);
    const high = Math.min(...atZero, ...inside);
    assert.ok(low <= high + tol, `no multiplier fits the KKT conditions: max over held ${low} > min over unheld ${high}`);
    return;
  }
  if (netExposure !== null) assert.ok(Math.abs(sum(w) - netExposure) < eps, `net exposure ${sum(w)} is not ${netExposure}`);
  assert.ok(gross(w) <= l + eps, `gross ${gross(w)} exceeds ${l}`);
  // 0 ∈ g_i - ν + θ·∂|w_i| (+ the caps' normal cones), θ ≥ 0 the gross multiplier. With
  // p = ν - θ and q = ν + θ: g_i = p for 0 < w_i < m, g_i = q for -m < w_i < 0, p ≤ g_i ≤ q at
  // 0, g_i ≤ p at m, g_i ≥ q at -m; p ≤ q; p = -q without a net rule (ν = 0); p = q when the
  // gross is below L (θ = 0).
  const pick = (test: (wi: number) => boolean) => g.filter((_, i) => test(w[i]));
  const longInside = pick((wi) => wi > eps && wi < m - eps);
  const shortInside = pick((wi) => wi < -eps && wi > -m + eps);
  const unheld = pick((wi) => Math.abs(wi) <= eps);
  const pRange = [Math.max(...pick((wi) => wi >= m - eps), ...longInside), Math.min(...unheld, ...longInside)];
  const qRange = [Math.max(...unheld, ...shortInside), Math.min(...pick((wi) => wi <= -m + eps), ...shortInside)];
  const slack = gross(w) < l - 1e-9;
  // Intersect the admissible p (q follows from p when the rules tie them).
  let [lo, hi] = pRange;
  if (netExposure === null) [lo, hi] = [Math.max(lo, -qRange[1]), Math.min(hi, -qRange[0], 0)];
  if (slack) [lo, hi] = [Math.max(lo, qRange[0]), Math.min(hi, qRange[1])];
  assert.ok(lo <= hi + tol, `no multipliers fit the KKT conditions: p must lie in [${lo}, ${hi}]`);
  if (netExposure !== null && !slack)
    assert.ok(pRange[0] <= qRange[1] + tol && qRange[0] <= qRange[1] + tol, `q must lie in [${qRange[0]}, ${qRange[1]}] above p`);
}

function assertDomainError(fn: () => unknown, code: string, pattern: RegExp): DomainError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof DomainError, `expected a DomainError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.match(caught.message, pattern);
  return caught;
}

function optimize(
  covariance: number[][],
  expectedReturns: number[],
  riskAversion: number,
  constraints: PortfolioConstraintsInput,
): MeanVarianceSolution & { problem: Parameters<typeof assertOptimal>[0] } {
  const problem = { covariance: matrix(covariance), expectedReturns, riskAversion, constraints: resolveConstraints(constraints) };
  return { ...optimizeMeanVariance(problem), problem };
}

function diagonalMatrix(values: number[]): number[][] {
  return values.map((v, i) => values.map((_, j) => (i === j ? v : 0)));
}

// ---------------------------------------------------------------------------------------------
// Ledoit-Wolf
// ---------------------------------------------------------------------------------------------

interface LedoitWolfCase {
  name: string;
  X: number[][];
  covariance: number[][];
  shrinkage: number;
}

const reference = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'optimizer', 'ledoit-wolf.json'), 'utf8')) as {
  generator: string;
  cases: LedoitWolfCase[];
};

/**
 * scikit-learn's ledoit_wolf_shrinkage, transcribed the way it computes it (X2ᵀX2 and
 * (XᵀX)² formed in full, blocks aside), on plain arrays: independent of the production code,
 * which sums X2ᵀX2 without forming it.
 */
function ledoitWolfStepByStep(rows: number[][]): { covariance: number[][]; shrinkage: number } {
  const nSamples = rows.length;
  const nFeatures = rows[0].length;
  const means = Array.from({ length: nFeatures }, (_, j) => rows.reduce((s, row) => s + row[j], 0) / nSamples);
  const x = rows.map((row) => row.map((v, j) => v - means[j])); // X = X - X.mean(0)
  const x2 = x.map((row) => row.map((v) => v * v)); // X2 = X ** 2
  const empCovTrace = Array.from({ length: nFeatures }, (_, j) => x2.reduce((s, row) => s + row[j], 0) / nSamples);
  const mu = empCovTrace.reduce((s, v) => s + v, 0) / nFeatures;
  const product = (a: number[][], j: number, k: number) => a.reduce((s, row) => s + row[j] * row[k], 0); // (aᵀa)_jk
  let betaSum = 0; // np.sum(np.dot(X2.T, X2))
  let deltaSum = 0; // np.sum(np.dot(X.T, X) ** 2)
  for (let j = 0; j < nFeatures; j += 1) {
    for (let k = 0; k < nFeatures; k += 1) {
      betaSum += product(x2, j, k);
      deltaSum += product(x, j, k) ** 2;
    }
  }
  deltaSum /= nSamples ** 2;
  let beta = (1 / (nFeatures * nSamples)) * (betaSum / nSamples - deltaSum);
  let delta = deltaSum - 2 * mu * empCovTrace.reduce((s, v) => s + v, 0) + nFeatures * mu ** 2;
  delta /= nFeatures;
  beta = Math.min(beta, delta);
  const shrinkage = beta === 0 ? 0 : beta / delta;
  const covariance = Array.from({ length: nFeatures }, (_, j) =>
    Array.from({ length: nFeatures }, (_, k) => (1 - shrinkage) * (product(x, j, k) / nSamples) + (j === k ? shrinkage * mu : 0)),
  );
  return { covariance, shrinkage };
}

describe('optimizer: Ledoit-Wolf covariance', () => {
  for (const fixture of reference.cases) {
    it(`reproduces scikit-learn's ledoit_wolf on "${fixture.name}"`, () => {
      const estimate = ledoitWolf(returnMatrix(fixture.X));
      assert.ok(Math.abs(estimate.shrinkage - fixture.shrinkage) < 1e-12, `shrinkage ${estimate.shrinkage} vs ${fixture.shrinkage}`);
      const scale = Math.max(...fixture.covariance.flat().map(Math.abs));
      assertClose(estimate.covariance.values, fixture.covariance.flat(), 1e-12 * scale, 'covariance');
    });
  }

  it('matches the result printed in scikit-learn’s LedoitWolf documentation to four decimals', () => {
    const fixture = reference.cases.find((c) => c.name === 'sklearn docstring example') as LedoitWolfCase;
    const { covariance } = ledoitWolf(returnMatrix(fixture.X));
    assertClose(
      Array.from(covariance.values, (v) => Math.trunc(v * 1e4) / 1e4),
      [0.4406, 0.1616, 0.1616, 0.8022],
      1e-12,
      'covariance truncated to 4 decimals',
    );
  });

  it('agrees with the formula written out step by step on a fixed matrix', () => {
    const rows = [
      [0.01, -0.02, 0.005, 0.0],
      [-0.015, 0.01, 0.002, 0.03],
      [0.02, 0.005, -0.01, -0.02],
      [0.0, -0.01, 0.012, 0.01],
      [0.005, 0.015, -0.004, -0.005],
      [-0.01, 0.0, 0.008, 0.015],
      [0.012, -0.006, -0.002, 0.004],
    ];
    const expected = ledoitWolfStepByStep(rows);
    const estimate = ledoitWolf(returnMatrix(rows));
    assert.ok(expected.shrinkage > 0 && expected.shrinkage < 1, `a case that shrinks partly (${expected.shrinkage})`);
    assert.ok(Math.abs(estimate.shrinkage - expected.shrinkage) < 1e-12);
    assertClose(estimate.covariance.values, expected.covariance.flat(), 1e-16, 'covariance');
    // And the transcription itself reproduces scikit-learn on every fixture case.
    for (const fixture of reference.cases) {
      const transcribed = ledoitWolfStepByStep(fixture.X);
      assert.ok(Math.abs(transcribed.shrinkage - fixture.shrinkage) < 1e-12, fixture.name);
    }
  });

  it('shrinks toward the mean variance: the trace is kept, and a shrinkage of 1 gives the target alone', () => {
    for (const fixture of reference.cases) {
      const estimate = ledoitWolf(returnMatrix(fixture.X));
      const p = estimate.covariance.size;
      let trace = 0;
      for (let i = 0; i < p; i += 1) trace += entry(estimate.covariance, i, i);
      assert.ok(Math.abs(trace / p - estimate.target) < 1e-12 * estimate.target, fixture.name);
    }
    const clipped = ledoitWolf(returnMatrix((reference.cases.find((c) => c.name === 'clipped at 1') as LedoitWolfCase).X));
    assert.equal(clipped.shrinkage, 1);
    for (let i = 0; i < clipped.covariance.size; i += 1) {
      for (let j = 0; j < clipped.covariance.size; j += 1) assert.ok(Math.abs(entry(clipped.covariance, i, j) - (i === j ? clipped.target : 0)) < 1e-15);
    }
  });

  it('gives a positive definite matrix with more symbols than days', () => {
    const fixture = reference.cases.find((c) => c.name === '6 days x 10 assets') as LedoitWolfCase;
    const { covariance } = ledoitWolf(returnMatrix(fixture.X));
    // Cholesky succeeds only on a positive definite matrix.
    const n = covariance.size;
    const l = new Float64Array(n * n);
    for (let j = 0; j < n; j += 1) {
      let d = entry(covariance, j, j);
      for (let k = 0; k < j; k += 1) d -= l[j * n + k] ** 2;
      assert.ok(d > 0, `pivot ${j} is ${d}`);
      l[j * n + j] = Math.sqrt(d);
      for (let i = j + 1; i < n; i += 1) {
        let s = entry(covariance, i, j);
        for (let k = 0; k < j; k += 1) s -= l[i * n + k] * l[j * n + k];
        l[i * n + j] = s / l[j * n + j];
      }
    }
  });

  it('does not shrink a single symbol', () => {
    const estimate = ledoitWolf(returnMatrix([[0.01], [-0.02], [0.03]]));
    assert.equal(estimate.shrinkage, 0);
    const mean = 0.02 / 3;
    const variance = ((0.01 - mean) ** 2 + (-0.02 - mean) ** 2 + (0.03 - mean) ** 2) / 3;
    assert.ok(Math.abs(estimate.covariance.values[0] - variance) < 1e-18);
  });

  it('computes the same cross product as the plain triple loop for every size, odd ones included', () => {
    const gauss = gaussianSource(3);
    for (const size of [1, 2, 3, 4, 5, 6, 7, 9, 13]) {
      const t = 11;
      const rows = Float64Array.from({ length: size * t }, () => gauss());
      const blocked = crossProduct(rows, size, t);
      for (let i = 0; i < size; i += 1) {
        for (let j = 0; j < size; j += 1) {
          let s = 0;
          for (let k = 0; k < t; k += 1) s += rows[i * t + k] * rows[j * t + k];
          assert.ok(Math.abs(entry(blocked, i, j) - s / t) < 1e-14, `size ${size}, (${i}, ${j})`);
        }
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Returns and expected returns
// ---------------------------------------------------------------------------------------------

describe('optimizer: returns and expected returns', () => {
  it('takes daily simple returns, symbol by symbol', () => {
    const returns = dailySimpleReturns({ dates: ['2024-01-02', '2024-01-03', '2024-01-04'], closes: { A: [100, 110, 99], B: [50, 50, 55] } }, ['B', 'A']);
    assert.equal(returns.observations, 2);
    assertClose(returns.values, [0, 0.1, 0.1, -0.1], 1e-15, 'returns');
  });

  it('refuses a history that lacks a symbol, has gaps, bad closes or too few days, saying which', () => {
    const dates = ['2024-01-02', '2024-01-03', '2024-01-04'];
    assertDomainError(() => dailySimpleReturns({ dates, closes: { A: [1, 2, 3] } }, ['A', 'B']), 'PRECONDITION_FAILED', /no price history for B/);
    assertDomainError(() => dailySimpleReturns({ dates, closes: { A: [1, 2] } }, ['A']), 'PRECONDITION_FAILED', /A has 2 closes for 3 dates/);
    assertDomainError(() => dailySimpleReturns({ dates, closes: { A: [1, 0, 3] } }, ['A']), 'PRECONDITION_FAILED', /A on 2024-01-03 is 0/);
    assertDomainError(() => dailySimpleReturns({ dates: dates.slice(0, 2), closes: { A: [1, 2] } }, ['A']), 'PRECONDITION_FAILED', /at least 3 daily closes/);
  });

  it('lines price rows up on the dates every symbol has', () => {
    const history = priceHistoryFromRows(
      [
        { symbol: 'A', date: '2024-01-03', close: 11 },
        { symbol: 'A', date: '2024-01-02', close: 10 },
        { symbol: 'A', date: '2024-01-04', close: 12 },
        { symbol: 'B', date: '2024-01-02', close: 20 },
        { symbol: 'B', date: '2024-01-04', close: 22 },
        { symbol: 'C', date: '2024-01-02', close: 1 },
      ],
      ['A', 'B'],
    );
    assert.deepEqual(history, { dates: ['2024-01-02', '2024-01-04'], closes: { A: [10, 12], B: [20, 22] } });
  });

  it('standardizes score ranks to mean 0 and variance 1, ties sharing their mean rank', () => {
    const z = standardizedRanks([0.9, 0.1, 0.5, 0.5]);
    // Ranks 4, 1, 2.5, 2.5; centred 1.5, -1.5, 0, 0; population sd √1.125.
    assertClose(
      z,
      [1.5, -1.5, 0, 0].map((v) => v / Math.sqrt(1.125)),
      1e-15,
      'z',
    );
    assertClose(standardizedRanks([0.3]), [0], 0, 'one symbol');
    assertClose(standardizedRanks([0.5, 0.5, 0.5]), [0, 0, 0], 0, 'all tied');
  });

  it('maps scores to IC × volatility × standardized rank × confidence', () => {
    const mu = expectedReturnsFromScores({ scores: [0.2, 0.8], confidences: [1, 0.5], volatilities: [0.01, 0.03], informationCoefficient: 0.1 });
    assertClose(mu, [0.1 * 0.01 * -1 * 1, 0.1 * 0.03 * 1 * 0.5], 1e-18, 'mu');
    // Only the order of the scores matters.
    const a = expectedReturnsFromScores({ scores: [0.1, 0.2, 0.9], volatilities: [0.02, 0.02, 0.02] });
    const b = expectedReturnsFromScores({ scores: [0.4, 0.41, 0.42], volatilities: [0.02, 0.02, 0.02] });
    assertClose(a, b, 0, 'same ranks, same expected returns');
  });
});

// ---------------------------------------------------------------------------------------------
// The QP solver adapter
// ---------------------------------------------------------------------------------------------

describe('optimizer: quadprog adapter', () => {
  it("solves the example of R's solve.QP documentation", () => {
    // min -(0 5 0)·b + ½bᵀb subject to Aᵀb ≥ (-8, 2, 0).
    const outcome = quadprogSolver.solve({
      size: 3,
      hessian: [1, 0, 0, 0, 1, 0, 0, 0, 1],
      linear: [0, 5, 0],
      inequalities: [
        { coefficients: [-4, -3, 0], rhs: -8 },
        { coefficients: [2, 1, 0], rhs: 2 },
        { coefficients: [0, -2, 1], rhs: 0 },
      ],
    });
    assert.equal(outcome.status, 'optimal');
    const { x, objective, inequalityMultipliers } = outcome as QpOptimum;
    assertClose(x, [0.4761905, 1.047619, 2.0952381], 1e-7, 'solution');
    assert.ok(Math.abs(objective - -2.380952) < 1e-6);
    assertClose(inequalityMultipliers, [0, 0.2380952, 2.0952381], 1e-7, 'Lagrangian');
  });

  it('reports equality multipliers with their true sign, whichever side the start violates', () => {
    // min ½‖x‖² subject to x1 + x2 = ±2: x = ±(1, 1), and ∇f = x = y·(1, 1) gives y = ±1.
    for (const rhs of [2, -2]) {
      const outcome = quadprogSolver.solve({ size: 2, hessian: [1, 0, 0, 1], linear: [0, 0], equalities: [{ coefficients: [1, 1], rhs }] });
      const { x, equalityMultipliers } = outcome as QpOptimum;
      assertClose(x, [rhs / 2, rhs / 2], 1e-12, 'x');
      assertClose(equalityMultipliers, [rhs / 2], 1e-12, 'y');
    }
    // With a bound active too: min ½‖x - (3, 0)‖² subject to x1 + x2 = 1, x ≥ 0 → x = (1, 0);
    // ∇f = x - (3, 0) = (-2, 0) = y·(1, 1) + η·(0, 1) gives y = -2, η = 2.
    const outcome = quadprogSolver.solve({
      size: 2,
      hessian: [1, 0, 0, 1],
      linear: [3, 0],
      equalities: [{ coefficients: [1, 1], rhs: 1 }],
      lower: [0, 0],
    });
    const { x, equalityMultipliers } = outcome as QpOptimum;
    assertClose(x, [1, 0], 1e-12, 'x');
    assertClose(equalityMultipliers, [-2], 1e-12, 'y');
  });

  it('reports inconsistent constraints and a Hessian that is not positive definite', () => {
    const infeasible = quadprogSolver.solve({ size: 1, hessian: [1], linear: [0], lower: [1], upper: [0] });
    assert.equal(infeasible.status, 'infeasible');
    const indefinite = quadprogSolver.solve({ size: 2, hessian: [1, 1, 1, 1], linear: [0, 0] });
    assert.equal(indefinite.status, 'not-positive-definite');
  });
});

// ---------------------------------------------------------------------------------------------
// Mean-variance: analytic solutions
// ---------------------------------------------------------------------------------------------

describe('optimizer: mean-variance weights', () => {
  const sigma3 = [
    [0.04, 0.01, 0.0],
    [0.01, 0.09, 0.02],
    [0.0, 0.02, 0.0625],
  ];

  it('without binding constraints is Σ⁻¹μ / λ', () => {
    const mu = [0.01, -0.005, 0.008];
    const lambda = 3;
    const result = optimize(sigma3, mu, lambda, { longOnly: false, maxWeight: 1, grossLeverage: 100, netExposure: null });
    const expected = solve(sigma3, mu).map((v) => v / lambda);
    assertClose(result.weights, expected, 1e-12, 'weights');
    const variance = expected.reduce((s, wi, i) => s + wi * expected.reduce((t, wj, j) => t + sigma3[i][j] * wj, 0), 0);
    assert.ok(Math.abs(result.risk - Math.sqrt(variance)) < 1e-12);
    assert.ok(Math.abs(result.expectedReturn - expected.reduce((s, wi, i) => s + wi * mu[i], 0)) < 1e-15);
  });

  it('with only a net exposure is Σ⁻¹(μ - γ1) / λ, γ chosen to meet it', () => {
    const mu = [0.01, -0.005, 0.008];
    const lambda = 3;
    for (const net of [0, 0.5]) {
      const result = optimize(sigma3, mu, lambda, { longOnly: false, maxWeight: 1, grossLeverage: 100, netExposure: net });
      const inverseMu = solve(sigma3, mu);
      const inverseOne = solve(sigma3, [1, 1, 1]);
      const gamma = (sum(inverseMu) - lambda * net) / sum(inverseOne);
      const expected = inverseMu.map((v, i) => (v - gamma * inverseOne[i]) / lambda);
      assertClose(result.weights, expected, 1e-12, `weights at net ${net}`);
    }
  });

  it('for two assets, long-only, is the closed-form split of the budget', () => {
    const sigma = [
      [0.04, 0.006],
      [0.006, 0.09],
    ];
    const lambda = 4;
    const mu = [0.03, 0.05];
    const w1 = (mu[0] - mu[1] + lambda * (sigma[1][1] - sigma[0][1])) / (lambda * (sigma[0][0] + sigma[1][1] - 2 * sigma[0][1]));
    assert.ok(w1 > 0 && w1 < 1, 'an interior split');
    const result = optimize(sigma, mu, lambda, { longOnly: true, maxWeight: 1 });
    assertClose(result.weights, [w1, 1 - w1], 1e-12, 'weights');
  });

  it('long-only gives an asset with a strongly negative expected return no weight', () => {
    const sigma = [
      [0.04, 0.006],
      [0.006, 0.09],
    ];
    const result = optimize(sigma, [0.03, -0.5], 4, { longOnly: true, maxWeight: 1 });
    assertClose(result.weights, [1, 0], 1e-12, 'weights');
  });

  it('caps weights at maxWeight, the rest water-filled as the KKT conditions say', () => {
    // Independent assets: w_i = clamp((μ_i - ν) / (λσ_i²), 0, m), ν making Σw = 1.
    const variances = [0.04, 0.02, 0.03, 0.05, 0.01];
    const mu = [0.08, 0.05, 0.02, -0.03, 0.01];
    const lambda = 2;
    const cap = 0.3;
    const weightsAt = (nu: number) => mu.map((m, i) => Math.min(cap, Math.max(0, (m - nu) / (lambda * variances[i]))));
    const nu = bisect((v) => sum(weightsAt(v)) - 1, -1, 1);
    const expected = weightsAt(nu);
    assert.ok(expected.filter((w) => w === cap).length >= 1, 'the cap binds');
    assert.equal(expected[3], 0, 'the negative-return asset is not held');
    const result = optimize(diagonalMatrix(variances), mu, lambda, { longOnly: true, maxWeight: cap });
    assertClose(result.weights, expected, 1e-10, 'weights');
    assertOptimal(result.problem, result.weights);
  });

  it('stops at the gross leverage, soft-thresholding the expected returns', () => {
    // Independent assets, no net rule: w_i = sign(μ_i)·clamp((|μ_i| - θ) / (λσ_i²), 0, m), θ making Σ|w| = L.
    const variances = [0.04, 0.02, 0.03, 0.05, 0.01, 0.02];
    const mu = [0.08, -0.05, 0.02, -0.03, 0.004, 0.06];
    const lambda = 2;
    const cap = 0.4;
    const leverage = 1;
    const weightsAt = (theta: number) => mu.map((m, i) => Math.sign(m) * Math.min(cap, Math.max(0, (Math.abs(m) - theta) / (lambda * variances[i]))));
    assert.ok(gross(weightsAt(0)) > leverage, 'the leverage binds');
    const theta = bisect((t) => gross(weightsAt(t)) - leverage, 0, 1);
    const expected = weightsAt(theta);
    const result = optimize(diagonalMatrix(variances), mu, lambda, { longOnly: false, maxWeight: cap, grossLeverage: leverage, netExposure: null });
    assertClose(result.weights, expected, 1e-10, 'weights');
    assert.ok(Math.abs(gross(result.weights) - leverage) < 1e-12);
  });

  it('meets the constraints and the KKT conditions on a correlated 60-symbol problem, long-only and long/short', () => {
    const { prices, symbols } = syntheticPrices(60, 250, 11);
    const shrunk = ledoitWolf(dailySimpleReturns(prices, symbols));
    const scores = randomSource(5);
    const mu = expectedReturnsFromScores({ scores: symbols.map(() => scores()), volatilities: shrunk.sampleVariances.map(Math.sqrt) });
    const cases: PortfolioConstraintsInput[] = [
      { longOnly: true, maxWeight: 0.1 },
      { longOnly: true, maxWeight: 0.05 },
      { longOnly: false, maxWeight: 0.1, grossLeverage: 1, netExposure: 0 },
      { longOnly: false, maxWeight: 0.05, grossLeverage: 2, netExposure: 0.3 },
      { longOnly: false, maxWeight: 0.1, grossLeverage: 1.5, netExposure: null },
    ];
    for (const constraints of cases) {
      for (const lambda of [1, 10, 50]) {
        const problem = { covariance: shrunk.covariance, expectedReturns: mu, riskAversion: lambda, constraints: resolveConstraints(constraints) };
        const result = optimizeMeanVariance(problem);
        assertOptimal(problem, result.weights);
        // The check itself is not vacuous: moving weight from a held symbol to an unheld one keeps
        // every constraint but is no longer optimal.
        const moved = Float64Array.from(result.weights);
        const from = moved.findIndex((wi) => wi > 0.01);
        const to = moved.findIndex((wi) => wi === 0);
        moved[from] -= 0.005;
        moved[to] += 0.005;
        assert.throws(() => assertOptimal(problem, moved), /KKT/);
      }
    }
  });

  it('with a net exposure as large as the gross leverage, is the long-only portfolio mirrored', () => {
    const { prices, symbols } = syntheticPrices(40, 200, 31);
    const shrunk = ledoitWolf(dailySimpleReturns(prices, symbols));
    const scores = randomSource(9);
    const mu = expectedReturnsFromScores({ scores: symbols.map(() => scores()), volatilities: shrunk.sampleVariances.map(Math.sqrt) });
    const base = { covariance: shrunk.covariance, riskAversion: 5 };
    const short = { ...base, expectedReturns: mu, constraints: resolveConstraints({ longOnly: false, maxWeight: 0.1, grossLeverage: 1, netExposure: -1 }) };
    const allShort = optimizeMeanVariance(short);
    const mirrored = optimizeMeanVariance({ ...base, expectedReturns: mu.map((v) => -v), constraints: resolveConstraints({ maxWeight: 0.1 }) });
    assertClose(
      allShort.weights,
      Array.from(mirrored.weights, (v) => -v),
      1e-12,
      'weights',
    );
    assertOptimal(short, allShort.weights);
  });

  it('finds, from a working set, the optimum of the full QP over every symbol', () => {
    const { prices, symbols } = syntheticPrices(40, 200, 21);
    const shrunk = ledoitWolf(dailySimpleReturns(prices, symbols));
    const scores = randomSource(8);
    const mu = expectedReturnsFromScores({ scores: symbols.map(() => scores()), volatilities: shrunk.sampleVariances.map(Math.sqrt) });
    const lambda = 5;
    const maxWeight = 0.08;
    const result = optimizeMeanVariance({
      covariance: shrunk.covariance,
      expectedReturns: mu,
      riskAversion: lambda,
      constraints: resolveConstraints({ maxWeight }),
    });
    assert.ok(result.diagnostics.workingSetSize < symbols.length, `the last QP had ${result.diagnostics.workingSetSize} of ${symbols.length} variables`);
    const n = symbols.length;
    const full = quadprogSolver.solve({
      size: n,
      hessian: shrunk.covariance.values.map((v) => lambda * v),
      linear: mu,
      equalities: [{ coefficients: new Float64Array(n).fill(1), rhs: 1 }],
      lower: new Float64Array(n),
      upper: new Float64Array(n).fill(maxWeight),
    }) as QpOptimum;
    assertClose(result.weights, full.x, 1e-9, 'weights');
  });

  it('turns a solver that finds no portfolio into PRECONDITION_FAILED naming the constraints', () => {
    const refusing: QpSolver = { name: 'refusing', solve: () => ({ status: 'infeasible', message: 'constraints are inconsistent, no solution!' }) };
    const problem = { covariance: matrix(diagonalMatrix([0.04, 0.04])), expectedReturns: [0.01, 0.02], riskAversion: 1 };
    assertDomainError(
      () => optimizeMeanVariance({ ...problem, constraints: resolveConstraints({ maxWeight: 1 }) }, refusing),
      'PRECONDITION_FAILED',
      /infeasible constraints: .*maxWeight with full investment/,
    );
    assertDomainError(
      () => optimizeMeanVariance({ ...problem, constraints: resolveConstraints({ longOnly: false, netExposure: 0.5, maxWeight: 1 }) }, refusing),
      'PRECONDITION_FAILED',
      /maxWeight, grossLeverage and netExposure/,
    );
  });

  it('reports a covariance that is not positive definite as PRECONDITION_FAILED', () => {
    const singular = [
      [0.04, 0.04],
      [0.04, 0.04],
    ];
    assertDomainError(() => optimize(singular, [0.01, 0.02], 1, { maxWeight: 1 }), 'PRECONDITION_FAILED', /not positive definite/);
  });
});

// ---------------------------------------------------------------------------------------------
// Infeasible and invalid problems
// ---------------------------------------------------------------------------------------------

describe('optimizer: infeasible and invalid problems', () => {
  const sigma = diagonalMatrix([0.04, 0.03, 0.02]);
  const mu = [0.01, 0.02, 0.03];

  it('refuses a long-only maxWeight too small to invest everything, saying how to fix it', () => {
    const error = assertDomainError(() => optimize(sigma, mu, 1, { maxWeight: 0.3 }), 'PRECONDITION_FAILED', /infeasible maxWeight/);
    assert.match(error.message, /3 symbol\(s\) at most 0\.3 each add up to 0\.9 < 1/);
    assert.match(error.message, /raise maxWeight to at least 0\.333334 or optimize at least 4 symbols/);
    // Exactly enough is feasible: every symbol at the cap.
    const exact = optimize(diagonalMatrix([0.04, 0.03, 0.02, 0.05]), [0.01, 0.02, 0.03, 0], 1, { maxWeight: 0.25 });
    assertClose(exact.weights, [0.25, 0.25, 0.25, 0.25], 1e-12, 'weights');
  });

  it('refuses a long-only gross leverage below 1', () => {
    assertDomainError(
      () => optimize(sigma, mu, 1, { maxWeight: 1, grossLeverage: 0.5 }),
      'PRECONDITION_FAILED',
      /infeasible grossLeverage: .*raise grossLeverage to at least 1/,
    );
  });

  it('refuses a long/short net exposure beyond the gross leverage or the caps', () => {
    assertDomainError(
      () => optimize(sigma, mu, 1, { longOnly: false, maxWeight: 1, grossLeverage: 0.5, netExposure: 0.8 }),
      'PRECONDITION_FAILED',
      /infeasible netExposure: .*exceeds grossLeverage 0\.5/,
    );
    assertDomainError(
      () => optimize(sigma, mu, 1, { longOnly: false, maxWeight: 0.2, grossLeverage: 2, netExposure: -0.9 }),
      'PRECONDITION_FAILED',
      /infeasible maxWeight: .*raise maxWeight to at least 0\.3 /,
    );
  });

  it('refuses bad numbers as BAD_USER_INPUT naming the field', () => {
    const fieldOf = (fn: () => unknown) => assertDomainError(fn, 'BAD_USER_INPUT', /./).details.fields?.[0]?.field;
    assert.equal(
      fieldOf(() => resolveConstraints({ maxWeight: 0 })),
      'constraints.maxWeight',
    );
    assert.equal(
      fieldOf(() => resolveConstraints({ maxWeight: 1.5 })),
      'constraints.maxWeight',
    );
    assert.equal(
      fieldOf(() => resolveConstraints({ grossLeverage: Number.NaN })),
      'constraints.grossLeverage',
    );
    assert.equal(
      fieldOf(() => resolveConstraints({ longOnly: false, netExposure: Infinity })),
      'constraints.netExposure',
    );
    assert.equal(
      fieldOf(() => optimize(sigma, mu, 0, {})),
      'riskAversion',
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The whole pipeline
// ---------------------------------------------------------------------------------------------

describe('optimizer: optimizePortfolio', () => {
  const { prices, symbols } = syntheticPrices(30, 120, 99);
  const scores = randomSource(42);
  const signals = symbols.map((symbol) => ({ symbol, score: scores(), confidence: 0.5 + scores() / 2 }));

  it('returns weights in signal order, expected return, risk and the inputs it used', () => {
    const result = optimizePortfolio({ signals, prices, riskAversion: 5 });
    assert.deepEqual(
      result.weights.map((w) => w.symbol),
      symbols,
    );
    const weights = result.weights.map((w) => w.weight);
    assert.ok(Math.abs(sum(weights) - 1) < 1e-9);
    assert.ok(weights.every((w) => w >= -1e-12 && w <= 0.1 + 1e-12));
    assert.deepEqual(result.inputs.constraints, { longOnly: true, maxWeight: 0.1, grossLeverage: 1, netExposure: 1 });
    assert.deepEqual(result.inputs.history, { firstDate: prices.dates[0], lastDate: prices.dates[119], returns: 119, returnType: 'daily simple returns' });
    assert.ok(result.inputs.covariance.shrinkage > 0 && result.inputs.covariance.shrinkage < 1);
    assert.equal(result.inputs.expectedReturns.informationCoefficient, 0.05);
    assert.equal(result.inputs.solver.name, quadprogSolver.name);

    const shrunk = ledoitWolf(dailySimpleReturns(prices, symbols));
    const mu = result.inputs.expectedReturns.symbols.map((s) => s.expectedReturn);
    assertClose(
      result.inputs.expectedReturns.symbols.map((s) => s.volatility),
      Array.from(shrunk.sampleVariances, Math.sqrt),
      1e-15,
      'volatilities',
    );
    assert.ok(Math.abs(result.expectedReturn - weights.reduce((s, w, i) => s + w * mu[i], 0)) < 1e-15);
    const variance = weights.reduce((s, wi, i) => s + wi * weights.reduce((t, wj, j) => t + entry(shrunk.covariance, i, j) * wj, 0), 0);
    assert.ok(Math.abs(result.risk - Math.sqrt(variance)) < 1e-12);
    assert.ok(Math.abs(result.annualized.expectedReturn - 252 * result.expectedReturn) < 1e-15);
    assert.ok(Math.abs(result.annualized.risk - Math.sqrt(252) * result.risk) < 1e-15);
    assertOptimal({ covariance: shrunk.covariance, expectedReturns: mu, riskAversion: 5, constraints: result.inputs.constraints }, weights);
  });

  it('builds a dollar-neutral long/short portfolio by default when shorts are allowed', () => {
    const result = optimizePortfolio({ signals, prices, riskAversion: 5, constraints: { longOnly: false } });
    const weights = result.weights.map((w) => w.weight);
    assert.ok(Math.abs(sum(weights)) < 1e-9);
    assert.ok(gross(weights) <= 1 + 1e-9);
    assert.ok(weights.some((w) => w < 0) && weights.some((w) => w > 0));
    assert.ok(weights.every((w) => !Object.is(w, -0)));
  });

  it('refuses duplicate symbols, out-of-range scores and a symbol without prices', () => {
    assertDomainError(() => optimizePortfolio({ signals: [signals[0], signals[0]], prices, riskAversion: 1 }), 'BAD_USER_INPUT', /signals\[1\]\.symbol/);
    assertDomainError(
      () => optimizePortfolio({ signals: [{ ...signals[0], score: 1.5 }], prices, riskAversion: 1, constraints: { maxWeight: 1 } }),
      'BAD_USER_INPUT',
      /signals\[0\]\.score/,
    );
    assertDomainError(() => optimizePortfolio({ signals: [], prices, riskAversion: 1 }), 'BAD_USER_INPUT', /signals/);
    assertDomainError(
      () => optimizePortfolio({ signals: [{ symbol: 'NOPE', score: 0.5, confidence: 1 }], prices, riskAversion: 1, constraints: { maxWeight: 1 } }),
      'PRECONDITION_FAILED',
      /no price history for NOPE/,
    );
    assertDomainError(() => optimizePortfolio({ signals: signals.slice(0, 5), prices, riskAversion: 1 }), 'PRECONDITION_FAILED', /infeasible maxWeight/);
  });
});
