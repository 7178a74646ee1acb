import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  InsufficientOverlapError,
  MIN_CROSS_SECTIONAL_SYMBOLS,
  TIME_SERIES_CORR,
  correlationContribution,
  featureNeutralCorr,
  featureNeutralCorrOn,
  numeraiCorr,
  scoreRound,
  summarizeScores,
  timeSeriesCorr,
  type CrossSectionalScores,
  type RoundDate,
} from '../../server/modules/signals/scoring';
import { inverseNormalCdf } from '../../server/modules/signals/scoring/inverse-normal-cdf';
import { tieKeptRank } from '../../server/modules/signals/scoring/rank';
import { sortByValue } from '../../server/modules/signals/scoring/sort-by-value';
import { random } from '../helpers/random';

/** numerai-tools' own scores of 8 synthetic dates (a copy of ../shared/reference/scoring/golden-numerai-tools.json). */
interface GoldenDate {
  date: string;
  symbols: string[];
  target: number[];
  features: Record<string, number[]>;
  predictions: Record<string, number[]>;
  numerai_corr: Record<string, number>;
  mmc: Record<string, number>;
  fnc: Record<string, number>;
}

const golden = (JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'scoring', 'golden-numerai-tools.json'), 'utf8')) as { dates: GoldenDate[] })
  .dates;
const TOLERANCE = 1e-8;

/** The golden file's meta model: the per-symbol mean of the models' predictions. */
function metaModelOf(date: GoldenDate): number[] {
  const models = Object.values(date.predictions);
  return date.symbols.map((_, i) => models.reduce((sum, predictions) => sum + predictions[i], 0) / models.length);
}

function uniform(count: number, seed: number): number[] {
  const next = random(seed);
  return Array.from({ length: count }, () => next());
}

function buckets(count: number, seed: number): number[] {
  const next = random(seed);
  return Array.from({ length: count }, () => Math.floor(next() * 5) / 4);
}

/** |actual - expected| <= tolerance, with a message naming both (assert.ok's own message can take long to build under tsx). */
function assertClose(actual: number, expected: number, tolerance: number, label = 'value'): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${label}: ${actual} is not within ${tolerance} of ${expected}`);
}

const withValueAt = (values: number[], index: number, value: number): number[] => values.map((old, i) => (i === index ? value : old));
const without = (values: number[], index: number): number[] => values.filter((_, i) => i !== index);

describe('signals scoring: numerai-tools golden values', () => {
  it('reproduces numerai_corr, MMC and FNC of every golden date and model to 1e-8', () => {
    assert.equal(golden.length, 8);
    let compared = 0;
    for (const date of golden) {
      const metaModel = metaModelOf(date);
      const features = Object.values(date.features);
      assert.equal(Object.keys(date.predictions).length, 3);
      for (const [model, predictions] of Object.entries(date.predictions)) {
        const where = `${date.date} ${model}`;
        const scores = {
          numerai_corr: numeraiCorr(predictions, date.target),
          mmc: correlationContribution(predictions, metaModel, date.target),
          fnc: featureNeutralCorr(predictions, features, date.target),
        };
        for (const score of ['numerai_corr', 'mmc', 'fnc'] as const) {
          const expected = date[score][model];
          assert.ok(Number.isFinite(expected), `${where} ${score}: the golden value is a number`);
          assertClose(scores[score], expected, TOLERANCE, `${where} ${score}: ${scores[score]} vs numerai-tools ${expected}`);
          compared += 1;
        }
      }
    }
    assert.equal(compared, 8 * 3 * 3);
  });

  it('gives the same per-date scores through scoreRound, with summaries over the 8 dates', () => {
    const dates: RoundDate[] = golden.map((date) => ({
      date: date.date,
      symbols: date.symbols,
      target: date.target,
      features: Object.values(date.features),
      metaModel: metaModelOf(date),
    }));
    const models = Object.keys(golden[0].predictions);
    const predictions = new Map(models.map((model) => [model, golden.map((date) => date.predictions[model])]));
    const result = scoreRound(dates, predictions);
    assert.equal(result.method, 'cross_sectional');
    if (result.method !== 'cross_sectional') return;
    assert.deepEqual(result.tooFewSymbols, []);
    for (const model of models) {
      const scores: CrossSectionalScores = result.models.get(model)!;
      assert.deepEqual(scores.unscored, []);
      assert.equal(scores.dates.length, 8);
      scores.dates.forEach((date, i) => {
        assert.equal(date.date, golden[i].date);
        const direct = golden[i].predictions[model];
        assert.deepEqual(
          { numeraiCorr: date.numeraiCorr, mmc: date.mmc, fnc: date.fnc },
          {
            numeraiCorr: numeraiCorr(direct, dates[i].target),
            mmc: correlationContribution(direct, dates[i].metaModel, dates[i].target),
            fnc: featureNeutralCorr(direct, dates[i].features, dates[i].target),
          },
          'scoreRound shares work across models but computes the very same numbers',
        );
        assertClose(date.numeraiCorr, golden[i].numerai_corr[model], TOLERANCE);
        assertClose(date.mmc, golden[i].mmc[model], TOLERANCE);
        assertClose(date.fnc, golden[i].fnc[model], TOLERANCE);
      });
      const expected = summarizeScores(golden.map((date) => date.mmc[model]));
      assert.equal(scores.summary.mmc.count, 8);
      assertClose(scores.summary.mmc.mean, expected.mean, TOLERANCE);
      assertClose(scores.summary.mmc.sharpe, expected.sharpe, 1e-6);
    }
  });
});

describe('signals scoring: building blocks', () => {
  it('ranks with ties kept: tied values share their average rank, as (rank - 0.5) / count', () => {
    assert.deepEqual([...tieKeptRank([3, 1, 2, 2])], [0.875, 0.125, 0.5, 0.5]);
    assert.deepEqual([...tieKeptRank([7, 7, 7])], [0.5, 0.5, 0.5]);
    assert.deepEqual([...tieKeptRank([0.2, 0.1])], [0.75, 0.25]);
  });

  it('ranks like a plain count of smaller and equal values, for ties, sorted, reversed and constant inputs', () => {
    const next = random(42);
    const inputs: number[][] = [[], [0.3], [-0, 0, 0], Array.from({ length: 300 }, (_, i) => i), Array.from({ length: 300 }, (_, i) => -i)];
    for (let k = 0; k < 40; k += 1) {
      const length = 1 + Math.floor(next() * 400);
      const levels = k % 3 === 0 ? 3 : k % 3 === 1 ? 40 : 1e9;
      inputs.push(Array.from({ length }, () => Math.floor(next() * levels) - levels / 2));
    }
    for (const values of inputs) {
      const expected = values.map((value) => {
        const below = values.filter((other) => other < value).length;
        const equal = values.filter((other) => other === value).length;
        return (below + (equal + 1) / 2 - 0.5) / values.length;
      });
      assert.deepEqual([...tieKeptRank(values)], expected, `ranks of ${values.length} values`);
    }
  });

  it('sorts values with their indices, by quicksort or by the heapsort it falls back to', () => {
    const next = random(7);
    for (const depthLimit of [undefined, 0, 1]) {
      for (const length of [2, 17, 100, 1000]) {
        const values = Array.from({ length }, () => Math.floor(next() * 50));
        const keys = Float64Array.from(values);
        const index = Uint32Array.from(values, (_, i) => i);
        sortByValue(keys, index, depthLimit);
        const expected = [...values].sort((a, b) => a - b);
        assert.deepEqual([...keys], expected, `keys of ${length} (depth limit ${depthLimit})`);
        index.forEach((original, position) => assert.equal(values[original], keys[position]));
        assert.equal(new Set(index).size, length);
      }
    }
  });

  it('inverts the normal CDF as scipy.stats.norm.ppf does, in the centre and far in the tails', () => {
    const known: [number, number][] = [
      [0.5, 0],
      [0.8, 0.8416212335729143],
      [0.975, 1.959963984540054],
      [0.025, -1.9599639845400545],
      [0.3, -0.5244005127080409],
      [0.999, 3.090232306167813],
      [1e-10, -6.361340902404056],
      [1e-300, -37.0470962993612],
    ];
    for (const [p, z] of known) assertClose(inverseNormalCdf(p), z, 1e-14 * Math.max(1, Math.abs(z)), `ppf(${p}) = ${inverseNormalCdf(p)}, expected ${z}`);
    assert.equal(inverseNormalCdf(0), Number.NEGATIVE_INFINITY);
    assert.equal(inverseNormalCdf(1), Number.POSITIVE_INFINITY);
    for (const outside of [1.5, -0.1, Number.NaN]) assert.equal(inverseNormalCdf(outside), Number.NaN);
  });
});

describe('signals scoring: edge cases', () => {
  const count = 50;
  const predictions = uniform(count, 1);
  const metaModel = uniform(count, 2);
  const target = buckets(count, 3);
  const features = [uniform(count, 4), uniform(count, 5), uniform(count, 6)];

  it('depends only on the order of the predictions, so tied predictions score as one rank', () => {
    const transformed = predictions.map((value) => 5 + value ** 3);
    assertClose(numeraiCorr(transformed, target), numeraiCorr(predictions, target), 1e-15);
    assertClose(correlationContribution(transformed, metaModel, target), correlationContribution(predictions, metaModel, target), 1e-15);
    assertClose(featureNeutralCorr(transformed, features, target), featureNeutralCorr(predictions, features, target), 1e-15);
    // Tied predictions get one rank, so which of two tied symbols has which target does not matter.
    const coarse = predictions.map((value) => Math.round(value * 4) / 4);
    const i = coarse.findIndex((value, k) => coarse.some((other, l) => l > k && other === value && target[l] !== target[k]));
    const j = coarse.findIndex((value, l) => l > i && value === coarse[i] && target[l] !== target[i]);
    assert.ok(i >= 0 && j > i, 'the coarse predictions have two tied symbols with different targets');
    const swapped = withValueAt(withValueAt(target, i, target[j]), j, target[i]);
    assertClose(numeraiCorr(coarse, swapped), numeraiCorr(coarse, target), 1e-14);
  });

  it('answers NaN for numerai_corr and FNC of constant predictions, 0 for their MMC, NaN for MMC against a constant meta model', () => {
    const constant = predictions.map(() => 0.5);
    assert.equal(numeraiCorr(constant, target), Number.NaN);
    assert.equal(correlationContribution(constant, metaModel, target), 0);
    assert.equal(featureNeutralCorr(constant, features, target), Number.NaN);
    assert.equal(correlationContribution(predictions, constant, target), Number.NaN);
    const constantTarget = target.map(() => 0.75);
    assert.equal(numeraiCorr(predictions, constantTarget), Number.NaN);
  });

  it('refuses arrays of different lengths with a RangeError that names them', () => {
    assert.throws(
      () => numeraiCorr(predictions, target.slice(1)),
      (error: unknown) => {
        assert.ok(error instanceof RangeError, 'a RangeError');
        assert.match(error.message, /numeraiCorr: target has 49 values but predictions has 50/);
        return true;
      },
    );
    assert.throws(
      () => correlationContribution(predictions, metaModel.slice(2), target),
      /correlationContribution: metaModel has 48 values but predictions has 50/,
    );
    assert.throws(() => featureNeutralCorr(predictions, [features[0], features[1].slice(1)], target), RangeError);
    assert.throws(() => featureNeutralCorr(predictions.slice(1), features, target), /featureNeutralCorr: target has 50 values but predictions has 49/);
    assert.throws(() => timeSeriesCorr([1, 2, 3], [1, 2]), RangeError);
  });

  it('refuses infinite values and non-numbers, since only NaN means missing', () => {
    assert.throws(() => numeraiCorr(withValueAt(predictions, 3, Number.POSITIVE_INFINITY), target), /predictions\[3\] is Infinity/);
    assert.throws(() => correlationContribution(predictions, metaModel, withValueAt(target, 0, Number.NEGATIVE_INFINITY)), RangeError);
    assert.throws(() => numeraiCorr(JSON.parse('[0.1, null, 0.3]') as number[], [0, 1, 0.5]), /predictions\[1\] is null/);
  });

  it('drops a symbol without a prediction but centers the target on every symbol that has one', () => {
    const missing = withValueAt(predictions, 7, Number.NaN);
    // With the dropped symbol's target at the others' mean, centering over all or over the rest is the same.
    const rest = without(target, 7);
    const atMean = withValueAt(target, 7, rest.reduce((sum, value) => sum + value, 0) / rest.length);
    assertClose(numeraiCorr(missing, atMean), numeraiCorr(without(predictions, 7), rest), 1e-14);
    // Elsewhere it is not (numerai-tools centers before it filters).
    const far = withValueAt(target, 7, 50);
    const gap = Math.abs(numeraiCorr(missing, far) - numeraiCorr(without(predictions, 7), rest));
    assert.ok(gap > 1e-3, `centering over every target moves the score (by ${gap})`);
    // A NaN target drops the symbol as well.
    assertClose(numeraiCorr(predictions, withValueAt(target, 7, Number.NaN)), numeraiCorr(without(predictions, 7), rest), 1e-14);
  });

  it('drops symbols missing from any side of MMC and FNC and scores the rest', () => {
    const subset = (values: number[]) => without(values, 11);
    const expectedMmc = correlationContribution(subset(predictions), subset(metaModel), subset(target));
    assertClose(correlationContribution(predictions, withValueAt(metaModel, 11, Number.NaN), target), expectedMmc, 1e-15);
    assertClose(correlationContribution(withValueAt(predictions, 11, Number.NaN), metaModel, target), expectedMmc, 1e-15);
    const expectedFnc = featureNeutralCorr(subset(predictions), features.map(subset), subset(target));
    const both = featureNeutralCorr(withValueAt(predictions, 11, Number.NaN), features, withValueAt(target, 11, Number.NaN));
    assertClose(both, expectedFnc, 1e-14);
  });

  it('refuses a date where fewer than 80% of the symbols are on every side', () => {
    const holes = (values: number[], holesCount: number) => values.map((value, i) => (i < holesCount ? Number.NaN : value));
    assert.ok(Number.isFinite(numeraiCorr(holes(predictions, 10), target)), '10 of 50 missing is within the 20% allowed');
    assert.throws(
      () => numeraiCorr(holes(predictions, 11), target),
      (error: unknown) => {
        assert.ok(error instanceof InsufficientOverlapError && error instanceof RangeError, 'an InsufficientOverlapError, a RangeError');
        assert.match(error.message, /only 39 of 50 symbols have a value on every side; at least 80% must overlap/);
        return true;
      },
    );
    assert.throws(() => correlationContribution(holes(predictions, 6), metaModel, holes(target, 12).reverse()), InsufficientOverlapError);
    assert.throws(() => featureNeutralCorr(holes(predictions, 11), features, target), InsufficientOverlapError);
    assert.throws(() => numeraiCorr([], []), /no symbols to score/);
  });

  it('refuses a NaN feature value for FNC (features are the round data, nothing to drop)', () => {
    assert.throws(() => featureNeutralCorr(predictions, [features[0], withValueAt(features[1], 4, Number.NaN)], target), /features\[1\]\[4\] is NaN/);
  });

  it('scales a target inside [0, 1] by 4 for MMC and leaves any other target as it is', () => {
    const shifted = target.map((value) => value + 2);
    const inside = correlationContribution(predictions, metaModel, target);
    assertClose(correlationContribution(predictions, metaModel, shifted) * 4, inside, 1e-14);
  });

  it('neutralizes against an intercept alone when there are no features, leaving numerai_corr', () => {
    assertClose(featureNeutralCorr(predictions, [], target), numeraiCorr(predictions, target), 1e-14);
  });

  it('is unchanged by a constant feature or a repeated one (the least squares handle a rank-deficient fit)', () => {
    const plain = featureNeutralCorr(predictions, features, target);
    const constant = predictions.map(() => 0.3);
    assertClose(featureNeutralCorr(predictions, [...features, constant], target), plain, 1e-12);
    assertClose(featureNeutralCorr(predictions, [...features, features[0], features[1].map((value) => 2 * value - 1)], target), plain, 1e-12);
  });

  it('answers NaN for FNC when the features explain the predictions entirely', () => {
    // 4 symbols, 3 features and the intercept: the fit is exact.
    const first4 = (values: number[]) => values.slice(0, 4);
    assert.equal(featureNeutralCorr(first4(predictions), features.map(first4), first4(target)), Number.NaN);
  });

  it('shares one feature basis across models with featureNeutralCorrOn', () => {
    const fnc = featureNeutralCorrOn(features, target);
    assert.equal(fnc(predictions), featureNeutralCorr(predictions, features, target));
    assert.equal(fnc(metaModel), featureNeutralCorr(metaModel, features, target));
  });
});

describe('signals scoring: summaries across dates', () => {
  it('reports count, mean, population standard deviation, Sharpe and hit rate, leaving NaN dates out', () => {
    const summary = summarizeScores([0.1, -0.05, 0.2, Number.NaN]);
    const mean = 0.25 / 3;
    const std = Math.sqrt(((0.1 - mean) ** 2 + (-0.05 - mean) ** 2 + (0.2 - mean) ** 2) / 3);
    assert.equal(summary.count, 3);
    assertClose(summary.mean, mean, 1e-15);
    assertClose(summary.std, std, 1e-15);
    assertClose(summary.sharpe, mean / std, 1e-12);
    assert.equal(summary.hitRate, 2 / 3);
  });

  it('answers NaN where a figure is undefined: no dates, or one date for the Sharpe', () => {
    const empty = summarizeScores([]);
    assert.equal(empty.count, 0);
    assert.deepEqual([empty.mean, empty.std, empty.sharpe, empty.hitRate], [Number.NaN, Number.NaN, Number.NaN, Number.NaN]);
    const one = summarizeScores([0.02]);
    assert.deepEqual(one, { count: 1, mean: 0.02, std: 0, sharpe: Number.NaN, hitRate: 1 });
  });
});

describe('signals scoring: rounds with too few symbols per date', () => {
  it('correlates one symbol over time, leaving out dates where either side is missing', () => {
    const result = timeSeriesCorr([0.1, 0.4, Number.NaN, 0.3, 0.9], [0, 0.5, 1, 0.25, Number.NaN]);
    assert.equal(result.kind, TIME_SERIES_CORR);
    assert.equal(result.dates, 3);
    // Pearson of [0.1, 0.4, 0.3] with [0, 0.5, 0.25]
    assertClose(result.corr, 0.9819805060619659, 1e-15);
    assert.equal(timeSeriesCorr([0.1, 0.2], [0, 1]).corr, Number.NaN);
  });

  it('falls back to a labelled time-series correlation for a one-index round, and scores cross-sectionally otherwise', () => {
    const days = 30;
    const predictionsOf = uniform(days, 7);
    const targetOf = buckets(days, 8);
    const dates: RoundDate[] = Array.from({ length: days }, (_, d) => ({
      date: `2024-03-${String(d + 1).padStart(2, '0')}`,
      symbols: ['SPY'],
      target: [targetOf[d]],
      features: [[0.5]],
      metaModel: [0.5],
    }));
    const predictions = new Map([['momentum', predictionsOf.map((value, d) => (d === 4 ? undefined : [value]))]]);
    const result = scoreRound(dates, predictions);
    assert.equal(result.method, TIME_SERIES_CORR);
    if (result.method !== TIME_SERIES_CORR) return;
    assert.match(result.label, /time-series correlation.*not numerai_corr/);
    const [entry] = result.models.get('momentum')!.symbols;
    const expected = timeSeriesCorr(
      predictionsOf.map((value, d) => (d === 4 ? Number.NaN : value)),
      targetOf,
    );
    assert.deepEqual(entry, { symbol: 'SPY', corr: expected.corr, dates: days - 1 });
    assert.equal(result.models.get('momentum')!.summary.count, 1);
  });

  it('leaves thin dates and under-covered models out of a cross-sectional round, saying why', () => {
    const wide = (seed: number, count: number): RoundDate => ({
      date: `D${seed}`,
      symbols: Array.from({ length: count }, (_, i) => `S${i}`),
      target: buckets(count, seed),
      features: [uniform(count, seed + 1)],
      metaModel: uniform(count, seed + 2),
    });
    const dates = [wide(10, 40), wide(20, MIN_CROSS_SECTIONAL_SYMBOLS - 1), wide(30, 40)];
    const sparse = uniform(40, 99).map((value, i) => (i < 20 ? Number.NaN : value));
    const predictions = new Map([
      ['full', [uniform(40, 11), uniform(19, 12), uniform(40, 13)]],
      ['partial', [sparse, undefined, undefined]],
    ]);
    const result = scoreRound(dates, predictions);
    assert.equal(result.method, 'cross_sectional');
    if (result.method !== 'cross_sectional') return;
    assert.deepEqual(result.tooFewSymbols, ['D20']);
    const full = result.models.get('full')!;
    assert.deepEqual(
      full.dates.map((date) => date.date),
      ['D10', 'D30'],
    );
    assert.equal(full.summary.fnc.count, 2);
    const partial = result.models.get('partial')!;
    assert.deepEqual(partial.dates, []);
    assert.deepEqual(
      partial.unscored.map((entry) => entry.date),
      ['D10', 'D30'],
    );
    assert.match(partial.unscored[0].reason, /only 20 of 40 symbols/);
    assert.equal(partial.unscored[1].reason, 'no predictions');
    assert.throws(() => scoreRound(dates, new Map([['short', [uniform(40, 1)]]])), /model short has predictions for 1 dates, the round has 3/);
  });
});
