/**
 * Portfolio optimizer: Ledoit-Wolf covariance plus the mean-variance solve, 500 symbols with 750 days of history.
 *
 * Pure computation through tsx (no server, no database), one process. Synthetic daily closes,
 * seeded: one market factor, a beta in [0.5, 1.5] and an own volatility of 1-3 % a day per
 * symbol; scores uniform in [0, 1], confidences in [0.5, 1]. Each run times optimizePortfolio
 * end to end (daily returns, Ledoit-Wolf, expected returns, the working-set QP with quadprog),
 * long-only with the default constraints (maxWeight 0.1, fully invested) and long/short
 * (dollar-neutral, gross 1, maxWeight 0.1), riskAversion 5; then its steps one by one. The
 * baseline, measured in the same runs, is the sample covariance alone: the one O(T·p²) matrix
 * product the rest is built on. --warmup runs (default 3) are left out of the figures.
 * Options: --symbols N (500), --days N (750), --runs N (15), --warmup N (3), --full-qp (also
 * solve the long-only QP once on all symbols without the working set, for comparison: slow).
 */
import {
  dailySimpleReturns,
  expectedReturnsFromScores,
  ledoitWolf,
  optimizeMeanVariance,
  optimizePortfolio,
  quadprogSolver,
  resolveConstraints,
  sampleCovariance,
  type OptimizedPortfolio,
  type PortfolioConstraintsInput,
  type PriceHistory,
} from '../../server/modules/signals/optimizer';
import { below, count, info, ms, parseOptions, printHeader, printTable, progress, runMain, summarize, verdict, type Summary, type Target } from './_harness';

const RISK_AVERSION = 5;
const LONG_ONLY: PortfolioConstraintsInput = { longOnly: true };
const LONG_SHORT: PortfolioConstraintsInput = { longOnly: false, grossLeverage: 1, netExposure: 0 };

function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function syntheticMarket(symbolCount: number, days: number) {
  const uniform = randomSource(20240601);
  const gauss = () => Math.sqrt(-2 * Math.log(uniform() || 1e-12)) * Math.cos(2 * Math.PI * uniform());
  const dates = Array.from({ length: days }, (_, k) => new Date(Date.UTC(2021, 0, 4 + k)).toISOString().slice(0, 10));
  const market = Array.from({ length: days }, () => 0.01 * gauss());
  const closes: Record<string, number[]> = {};
  const symbols: string[] = [];
  for (let i = 0; i < symbolCount; i += 1) {
    const symbol = `S${String(i).padStart(3, '0')}`;
    const beta = 0.5 + uniform();
    const volatility = 0.01 + 0.02 * uniform();
    const series = [50 + 100 * uniform()];
    for (let k = 1; k < days; k += 1) series.push(series[k - 1] * (1 + beta * market[k] + volatility * gauss()));
    symbols.push(symbol);
    closes[symbol] = series;
  }
  const prices: PriceHistory = { dates, closes };
  const signals = symbols.map((symbol) => ({ symbol, score: uniform(), confidence: 0.5 + uniform() / 2 }));
  return { prices, symbols, signals };
}

function time<T>(fn: () => T): [T, number] {
  const started = process.hrtime.bigint();
  const value = fn();
  return [value, Number(process.hrtime.bigint() - started) / 1e6];
}

async function main(): Promise<void> {
  const options = parseOptions(
    process.argv.slice(2),
    { symbols: 500, days: 750, runs: 15, warmup: 3, fullQp: false },
    { symbols: [2, 5000], days: [3, 10000], runs: [1, 1000] },
  );
  printHeader('optimizer', 'Ledoit-Wolf covariance + mean-variance solve (server/modules/signals/optimizer)', [
    ['code', 'server sources through tsx (no build needed)'],
    ['problem', `${options.symbols} symbols × ${options.days} days of synthetic closes, riskAversion ${RISK_AVERSION}, maxWeight 0.1`],
    ['solver', quadprogSolver.name],
  ]);
  const { prices, symbols, signals } = syntheticMarket(options.symbols, options.days);

  const samples: Record<string, number[]> = {};
  const record = (name: string, value: number, measured: boolean) => {
    if (measured) (samples[name] ??= []).push(value);
  };
  let longOnly: OptimizedPortfolio | undefined;
  let longShort: OptimizedPortfolio | undefined;
  progress(`${options.warmup} warm-up + ${options.runs} measured runs`);
  for (let run = 0; run < options.warmup + options.runs; run += 1) {
    const measured = run >= options.warmup;
    global.gc?.();
    const [portfolio, total] = time(() => optimizePortfolio({ signals, prices, riskAversion: RISK_AVERSION, constraints: LONG_ONLY }));
    longOnly = portfolio;
    record('total long-only', total, measured);
    const [shortPortfolio, totalShort] = time(() => optimizePortfolio({ signals, prices, riskAversion: RISK_AVERSION, constraints: LONG_SHORT }));
    longShort = shortPortfolio;
    record('total long/short', totalShort, measured);

    // The steps, one by one.
    const [returns, returnsMs] = time(() => dailySimpleReturns(prices, symbols));
    record('returns', returnsMs, measured);
    const [, sampleMs] = time(() => sampleCovariance(returns));
    record('sample covariance (baseline)', sampleMs, measured);
    const [shrunk, ledoitWolfMs] = time(() => ledoitWolf(returns));
    record('ledoit-wolf', ledoitWolfMs, measured);
    const mu = expectedReturnsFromScores({
      scores: signals.map((s) => s.score),
      confidences: signals.map((s) => s.confidence),
      volatilities: shrunk.sampleVariances.map(Math.sqrt),
    });
    for (const [name, constraints] of [
      ['solve long-only', LONG_ONLY],
      ['solve long/short', LONG_SHORT],
    ] as const) {
      const [, solveMs] = time(() =>
        optimizeMeanVariance({ expectedReturns: mu, covariance: shrunk.covariance, riskAversion: RISK_AVERSION, constraints: resolveConstraints(constraints) }),
      );
      record(name, solveMs, measured);
    }
  }

  const rows: [string, Summary, Target][] = [];
  const totalLong = summarize(samples['total long-only']);
  rows.push(['covariance + solve, long-only (optimizePortfolio)', totalLong, below(totalLong.p50, 200, 'p50 < 200 ms')]);
  const totalShort = summarize(samples['total long/short']);
  rows.push(['covariance + solve, long/short (optimizePortfolio)', totalShort, below(totalShort.p50, 200, 'p50 < 200 ms')]);
  rows.push(['  daily simple returns', summarize(samples['returns']), info('step')]);
  rows.push(['  Ledoit-Wolf covariance', summarize(samples['ledoit-wolf']), info('step')]);
  rows.push(['  QP solve, long-only (working set)', summarize(samples['solve long-only']), info('step')]);
  rows.push(['  QP solve, long/short (working set)', summarize(samples['solve long/short']), info('step')]);
  rows.push(['baseline: sample covariance XᵀX/T alone', summarize(samples['sample covariance (baseline)']), info('same runs')]);

  printTable(
    ['case', 'runs', 'mean', 'p50', 'p90', 'max', 'target', ''],
    rows.map(([label, s, target]) => [label, count(s.n), ms(s.mean), ms(s.p50), ms(s.p90), ms(s.max), target.label, verdict(target)]),
    [1, 2, 3, 4, 5],
  );
  console.log('');
  for (const [label, portfolio] of [
    ['long-only', longOnly],
    ['long/short', longShort],
  ] as const) {
    if (!portfolio) continue;
    const held = portfolio.weights.filter((w) => Math.abs(w.weight) > 1e-9).length;
    const { solver, covariance } = portfolio.inputs;
    console.log(
      `${label}: ${held} of ${symbols.length} symbols held; ${solver.rounds} QP solve(s), the last on ${solver.workingSetSize} variables; ` +
        `expected return ${(portfolio.annualized.expectedReturn * 100).toFixed(1)} %/yr, risk ${(portfolio.annualized.risk * 100).toFixed(1)} %/yr; ` +
        `shrinkage ${covariance.shrinkage.toFixed(4)}`,
    );
  }

  if (options.fullQp) {
    progress('solving the long-only QP once on every symbol (no working set)');
    const returns = dailySimpleReturns(prices, symbols);
    const shrunk = ledoitWolf(returns);
    const mu = expectedReturnsFromScores({
      scores: signals.map((s) => s.score),
      confidences: signals.map((s) => s.confidence),
      volatilities: shrunk.sampleVariances.map(Math.sqrt),
    });
    const n = symbols.length;
    const [outcome, fullMs] = time(() =>
      quadprogSolver.solve({
        size: n,
        hessian: shrunk.covariance.values.map((v) => RISK_AVERSION * v),
        linear: mu,
        equalities: [{ coefficients: new Float64Array(n).fill(1), rhs: 1 }],
        lower: new Float64Array(n),
        upper: new Float64Array(n).fill(0.1),
      }),
    );
    let difference = Number.NaN;
    if (outcome.status === 'optimal' && longOnly) difference = Math.max(...longOnly.weights.map((w, i) => Math.abs(w.weight - outcome.x[i])));
    console.log(
      `full QP on all ${n} variables (one run, for comparison): ${ms(fullMs)}; largest weight difference from the working-set answer ${difference.toExponential(1)}`,
    );
  }
}

runMain(main);
