/**
 * Scoring: a synthetic round (500 symbols x 250 dates x 50 models) scored end to end with the pure module, beside plain Pearson correlations.
 *
 * Pure computation in this process, no database and no server. The round is synthetic and seeded
 * (the same every run): per date --symbols symbols, --features features (uniform in [0, 1], as the
 * round builder normalizes them), a target in Numerai's five buckets driven by a hidden signal plus
 * noise, and --models models each predicting in (0, 1) from the hidden signal, a feature and noise
 * (every fifth model rounds to 2 decimals, so its predictions tie). The meta model is the per-symbol
 * mean of the models. End to end is `scoreRound`: numerai_corr, MMC and FNC for every model and date
 * and the summaries across dates (mean, std, Sharpe, count, hit rate), --runs times after a warm-up
 * on a few dates. The baseline, in the same run, is as many plain Pearson correlations of the raw
 * arrays (3 per model and date) in a bare loop. The three scores are also timed alone, one call per
 * model and date, FNC both as `featureNeutralCorr` (the feature basis built at every call) and through
 * `featureNeutralCorrOn` (built once per date and shared by the models).
 * The single-score rows run on the first --sample-dates dates (default 25) to keep the run short.
 * Wall and CPU time are both shown: CPU time (this process, user + system) is about what the wall time
 * would be on an idle machine.
 * Options: --symbols N, --dates N, --models N, --features N, --runs N, --sample-dates N.
 */
import os from 'node:os';
import {
  correlationContribution,
  featureNeutralCorr,
  featureNeutralCorrOn,
  numeraiCorr,
  scoreRound,
  type RoundDate,
  type RoundPredictions,
} from '../../server/modules/signals/scoring';
import { below, count, info, ms, parseOptions, printHeader, printTable, progress, runMain, summarize, verdict, type Target } from './_harness';

const options = parseOptions(
  process.argv.slice(2),
  { symbols: 500, dates: 250, models: 50, features: 13, runs: 3, sampleDates: 25 },
  { symbols: [25, 20_000], dates: [1, 10_000], models: [1, 1000], features: [1, 100], runs: [1, 20], sampleDates: [1, 10_000] },
);

/** A deterministic pseudo-random stream in [0, 1) (mulberry32). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box-Muller). */
function normal(next: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

const logistic = (x: number): number => 1 / (1 + Math.exp(-x));

interface SyntheticRound {
  dates: RoundDate[];
  predictions: RoundPredictions;
  /** predictions[model][date], the same arrays as in `predictions`. */
  byModel: Float64Array[][];
}

function syntheticRound(): SyntheticRound {
  const next = random(20240105);
  const symbols = Array.from({ length: options.symbols }, (_, i) => `S${String(i).padStart(5, '0')}`);
  const skill = Array.from({ length: options.models }, () => 0.05 + 0.3 * next());
  const exposure = Array.from({ length: options.models }, () => Math.floor(next() * options.features));
  const byModel: Float64Array[][] = skill.map(() => []);
  const dates: RoundDate[] = [];
  for (let d = 0; d < options.dates; d += 1) {
    const hidden = Float64Array.from(symbols, () => normal(next));
    const features = Array.from({ length: options.features }, () => Float64Array.from(symbols, () => next()));
    const target = Float64Array.from(hidden, (value) => Math.min(4, Math.max(0, Math.round(2 + value + normal(next)))) / 4);
    const metaModel = new Float64Array(options.symbols);
    skill.forEach((weight, m) => {
      const feature = features[exposure[m]];
      const predictions = Float64Array.from(hidden, (value, i) => logistic(weight * value + 0.5 * (feature[i] - 0.5) + normal(next)));
      if (m % 5 === 4) for (let i = 0; i < predictions.length; i += 1) predictions[i] = Math.min(0.99, Math.max(0.01, Math.round(predictions[i] * 100) / 100));
      for (let i = 0; i < predictions.length; i += 1) metaModel[i] += predictions[i] / options.models;
      byModel[m].push(predictions);
    });
    dates.push({ date: `D${String(d).padStart(4, '0')}`, symbols, target, features, metaModel });
  }
  const predictions = new Map(byModel.map((perDate, m) => [`model-${m}`, perDate]));
  return { dates, predictions, byModel };
}

/** A textbook Pearson correlation, the baseline's unit of work. */
function plainPearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i += 1) {
    sx += x[i];
    sy += y[i];
  }
  const mx = sx / n;
  const my = sy / n;
  let xy = 0;
  let xx = 0;
  let yy = 0;
  for (let i = 0; i < n; i += 1) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    xy += dx * dy;
    xx += dx * dx;
    yy += dy * dy;
  }
  return xy / Math.sqrt(xx * yy);
}

interface Timing {
  ms: number;
  /** CPU time of this process meanwhile (user + system): about what the wall time would be on an idle machine. */
  cpuMs: number;
  checksum: number;
}

function timed(work: () => number): Timing {
  global.gc?.();
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  const checksum = work();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const used = process.cpuUsage(cpu);
  return { ms, cpuMs: (used.user + used.system) / 1000, checksum };
}

/** Calls `score` once per model and date (of the first `dates`) and sums the answers, so none is optimized away. */
function everyModelAndDate(round: SyntheticRound, dates: number, score: (predictions: Float64Array, date: RoundDate, d: number) => number): number {
  let sum = 0;
  for (const perDate of round.byModel) for (let d = 0; d < dates; d += 1) sum += score(perDate[d], round.dates[d], d);
  return sum;
}

async function main(): Promise<void> {
  const { symbols, dates, models, features, runs, sampleDates } = options;
  const scores = models * dates;
  const sample = Math.min(sampleDates, dates);
  printHeader('scoring', 'a synthetic round scored end to end (numerai_corr, MMC, FNC and summaries per model)', [
    ['round', `${count(symbols)} symbols x ${count(dates)} dates x ${count(models)} models, ${features} features (synthetic, seeded)`],
    ['work', `${count(scores)} model-dates, 3 scores each: ${count(3 * scores)} scores`],
    ['code', 'server/modules/signals/scoring through tsx, one thread'],
    [
      'load',
      `load average ${os
        .loadavg()
        .map((load) => load.toFixed(2))
        .join(' ')} at the start (other work on the machine slows the wall times, not the CPU times)`,
    ],
  ]);
  progress('building the synthetic round');
  const round = syntheticRound();

  progress('warm-up: scoring the first 5 dates');
  scoreRound(round.dates.slice(0, 5), new Map([...round.predictions].map(([model, perDate]) => [model, perDate.slice(0, 5)])));

  const endToEnd: Timing[] = [];
  for (let run = 1; run <= runs; run += 1) {
    progress(`end to end, run ${run} of ${runs}: scoreRound over the whole round`);
    let result: ReturnType<typeof scoreRound> | undefined;
    endToEnd.push(
      timed(() => {
        result = scoreRound(round.dates, round.predictions);
        return 0;
      }),
    );
    if (run === 1 && result) checkResult(round, result);
  }

  progress(`baseline: ${count(3 * scores)} plain Pearson correlations of ${count(symbols)} values`);
  const baseline = timed(() =>
    everyModelAndDate(
      round,
      dates,
      (predictions, date) => plainPearson(predictions, date.target) + plainPearson(predictions, date.metaModel) + plainPearson(predictions, date.features[0]),
    ),
  );

  progress(`each score alone, one call per model and date of the first ${sample} dates`);
  const calls = models * sample;
  const corrOnly = timed(() => everyModelAndDate(round, sample, (predictions, date) => numeraiCorr(predictions, date.target)));
  const mmcOnly = timed(() => everyModelAndDate(round, sample, (predictions, date) => correlationContribution(predictions, date.metaModel, date.target)));
  const fncShared = timed(() => {
    const perDate = round.dates.slice(0, sample).map((date) => featureNeutralCorrOn(date.features, date.target));
    return everyModelAndDate(round, sample, (predictions, _date, d) => perDate[d](predictions));
  });
  const fncAlone = timed(() => everyModelAndDate(round, sample, (predictions, date) => featureNeutralCorr(predictions, date.features, date.target)));

  const wall = summarize(endToEnd.map((timing) => timing.ms));
  const cpu = summarize(endToEnd.map((timing) => timing.cpuMs));
  const each = (timing: Timing): string => `${((timing.cpuMs / calls) * 1000).toFixed(0)} µs CPU per call`;
  const rows: [string, string, string, string, Target][] = [
    [
      `scoreRound, median of ${runs}: 3 scores per model-date + summaries`,
      ms(wall.p50),
      ms(cpu.p50),
      `${ms(wall.min)} .. ${ms(wall.max)}`,
      below(wall.p50 / 1000, 10, 'wall < 10 s'),
    ],
    [`baseline: ${count(3 * scores)} plain Pearson correlations`, ms(baseline.ms), ms(baseline.cpuMs), '', info('baseline, same run')],
    ['  scoreRound / baseline (CPU)', '', `${(cpu.p50 / baseline.cpuMs).toFixed(1)}x`, '', info('')],
    [`numeraiCorr alone, ${count(calls)} calls`, ms(corrOnly.ms), ms(corrOnly.cpuMs), '', info(each(corrOnly))],
    [`correlationContribution (MMC) alone, ${count(calls)} calls`, ms(mmcOnly.ms), ms(mmcOnly.cpuMs), '', info(each(mmcOnly))],
    [`FNC, basis shared per date (featureNeutralCorrOn)`, ms(fncShared.ms), ms(fncShared.cpuMs), '', info(each(fncShared))],
    [`FNC, basis built at every call (featureNeutralCorr)`, ms(fncAlone.ms), ms(fncAlone.cpuMs), '', info(each(fncAlone))],
  ];
  printTable(
    ['case', 'wall', 'CPU', 'wall range', 'target', ''],
    rows.map(([label, time, cpuTime, range, target]) => [label, time, cpuTime, range, target.label, verdict(target)]),
    [1, 2],
  );
  console.log('');
  console.log(
    `scoreRound ranks each model's predictions once for all three scores and shares per date what depends on the date alone; the single-score rows call the public functions one by one. GC is collected before each row and included in it.`,
  );
}

/** The round's figures are numbers, and one model-date equals the direct calls: a broken benchmark otherwise. */
function checkResult(round: SyntheticRound, result: ReturnType<typeof scoreRound>): void {
  if (result.method !== 'cross_sectional') throw new Error(`expected a cross-sectional round, got ${result.method}`);
  const first = result.models.get('model-0');
  if (!first || first.dates.length !== round.dates.length || first.unscored.length > 0) throw new Error('model-0 was not scored on every date');
  const date = round.dates[1];
  const predictions = round.byModel[0][1];
  const direct = {
    numeraiCorr: numeraiCorr(predictions, date.target),
    mmc: correlationContribution(predictions, date.metaModel, date.target),
    fnc: featureNeutralCorr(predictions, date.features, date.target),
  };
  for (const key of ['numeraiCorr', 'mmc', 'fnc'] as const)
    if (Math.abs(first.dates[1][key] - direct[key]) > 1e-12)
      throw new Error(`scoreRound ${key} ${first.dates[1][key]} differs from the direct call ${direct[key]}`);
  for (const scores of result.models.values())
    for (const summary of Object.values(scores.summary))
      if (summary.count !== round.dates.length || !Number.isFinite(summary.sharpe)) throw new Error(`a summary is incomplete: ${JSON.stringify(summary)}`);
}

runMain(main);
