import { strict as assert } from 'node:assert';
import { FEATURE_DOCS, FEATURE_NAMES, NORMALIZATION_DOC, TARGET_DOC, SPLITS_DOC, type PriceRow } from '../../server/modules/datasets/round-builder';
import { WARM_UP_ROWS, computeRawFeatures } from '../../server/modules/datasets/round-builder/features';
import { type FeatureRow, normalizeFeatures, percentileRanks } from '../../server/modules/datasets/round-builder/normalize';
import { bucketTarget, quintileThresholds } from '../../server/modules/datasets/round-builder/targets';

/** A series of one symbol from closes (and optional volumes); high/low 1% around the close. */
function series(closes: number[], volumes?: number[]): PriceRow[] {
  return closes.map((close, i) => ({
    symbol: 'X',
    date: `D${String(i).padStart(4, '0')}`,
    open: close,
    high: close * 1.01,
    low: close * 0.99,
    close,
    volume: volumes?.[i] ?? 1000,
  }));
}

function feature(rows: ReturnType<typeof computeRawFeatures>, at: number, name: string): number {
  const row = rows.find((candidate) => candidate.index === at);
  assert.ok(row, `no features at row ${at}`);
  return row.values[FEATURE_NAMES.indexOf(name)];
}

const wave = (n: number): number[] => Array.from({ length: n }, (_, i) => 100 + 10 * Math.sin(i / 3) + i / 10);

describe('round builder: features', () => {
  it('documents every feature, one line each, plus the normalization, the target and the splits', () => {
    assert.deepEqual(
      FEATURE_DOCS.map((doc) => doc.name),
      FEATURE_NAMES,
    );
    assert.deepEqual(FEATURE_NAMES, [
      'return_1d',
      'return_5d',
      'return_20d',
      'return_60d',
      'volatility_20d',
      'volatility_60d',
      'range_1d',
      'range_20d',
      'volume_zscore_20d',
      'rsi_14',
      'sma_20_distance',
      'sma_50_distance',
      'drawdown_20d',
    ]);
    for (const doc of FEATURE_DOCS) assert.ok(doc.description.length > 20 && !doc.description.includes('\n'), doc.name);
    assert.match(NORMALIZATION_DOC, /at least 5 symbols.*252 rows/);
    assert.match(TARGET_DOC, /TRAIN/);
    assert.match(SPLITS_DOC, /embargo/);
  });

  it('starts at the 61st row of a symbol (a 60-row warm-up)', () => {
    const rows = computeRawFeatures(series(wave(70)));
    assert.equal(WARM_UP_ROWS, 60);
    assert.deepEqual(
      rows.map((row) => row.index),
      [60, 61, 62, 63, 64, 65, 66, 67, 68, 69],
    );
    assert.deepEqual(computeRawFeatures(series(wave(60))), []);
  });

  it('computes returns, moving-average distances and range from the formulas in FEATURE_DOCS', () => {
    const closes = wave(80);
    const rows = computeRawFeatures(series(closes));
    const at = 75;
    const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length;
    assert.equal(feature(rows, at, 'return_1d'), closes[at] / closes[at - 1] - 1);
    assert.equal(feature(rows, at, 'return_5d'), closes[at] / closes[at - 5] - 1);
    assert.equal(feature(rows, at, 'return_20d'), closes[at] / closes[at - 20] - 1);
    assert.equal(feature(rows, at, 'return_60d'), closes[at] / closes[at - 60] - 1);
    assert.ok(Math.abs(feature(rows, at, 'sma_20_distance') - (closes[at] / mean(closes.slice(at - 19, at + 1)) - 1)) < 1e-12);
    assert.ok(Math.abs(feature(rows, at, 'sma_50_distance') - (closes[at] / mean(closes.slice(at - 49, at + 1)) - 1)) < 1e-12);
    assert.ok(Math.abs(feature(rows, at, 'range_1d') - 0.02) < 1e-12);
    assert.ok(Math.abs(feature(rows, at, 'range_20d') - 0.02) < 1e-12);
  });

  it('computes volatility as the sample standard deviation of daily returns', () => {
    const closes = wave(80);
    const rows = computeRawFeatures(series(closes));
    const returns = closes.slice(56, 76).map((close, k) => close / closes[55 + k] - 1);
    const mean = returns.reduce((sum, value) => sum + value, 0) / 20;
    const std = Math.sqrt(returns.reduce((sum, value) => sum + (value - mean) ** 2, 0) / 19);
    assert.ok(Math.abs(feature(rows, 75, 'volatility_20d') - std) < 1e-12);
    assert.ok(feature(rows, 75, 'volatility_60d') > 0);
  });

  it('measures the 20-day drawdown as the largest fall from a running peak', () => {
    const closes = [...Array<number>(70).fill(100), 110, 99, 105, 104.5, 120];
    const rows = computeRawFeatures(series(closes));
    assert.ok(Math.abs(feature(rows, 73, 'drawdown_20d') - 0.1) < 1e-12);
    assert.equal(feature(rows, 65, 'drawdown_20d'), 0);
  });

  it("gives Wilder's RSI 100 on a steady rise, 50 on a flat line and near 50 on an even zigzag", () => {
    const rising = computeRawFeatures(series(Array.from({ length: 70 }, (_, i) => 100 + i)));
    assert.equal(feature(rising, 65, 'rsi_14'), 100);
    const flat = computeRawFeatures(series(Array<number>(70).fill(100)));
    assert.equal(feature(flat, 65, 'rsi_14'), 50);
    const zigzag = computeRawFeatures(series(Array.from({ length: 70 }, (_, i) => (i % 2 === 0 ? 100 : 101))));
    assert.ok(Math.abs(feature(zigzag, 65, 'rsi_14') - 50) < 4);
  });

  it('gives a volume z-score of 0 for constant volume and a positive one for a volume spike', () => {
    const volumes = Array<number>(70).fill(1000);
    volumes[65] = 5000;
    const rows = computeRawFeatures(series(wave(70), volumes));
    assert.equal(feature(rows, 62, 'volume_zscore_20d'), 0);
    assert.ok(feature(rows, 65, 'volume_zscore_20d') > 4);
  });

  it('ranks values from 0 (lowest) to 1 (highest), averaging ties, and gives a single value 0.5', () => {
    assert.deepEqual(percentileRanks([3, 1, 2, 2]), [1, 0, 0.5, 0.5]);
    assert.deepEqual(percentileRanks([7]), [0.5]);
    assert.deepEqual(percentileRanks([5, 5, 5]), [0.5, 0.5, 0.5]);
  });

  it('ranks across symbols on a date with at least 5 symbols and within the trailing rows of a symbol otherwise', () => {
    const make = (symbol: string, dates: string[], raw: (d: number) => number): FeatureRow[] =>
      dates.map((date, d) => ({ symbol, date, seriesIndex: d, raw: [raw(d)], values: [] }));
    const dates = ['d1', 'd2', 'd3'];
    const bySymbol = new Map<string, FeatureRow[]>([
      // On d1 and d2 only A..C trade (trailing ranks); on d3 A..E trade (cross-sectional ranks).
      ['A', make('A', dates, (d) => [5, 1, 10][d])],
      ['B', make('B', dates, (d) => [1, 2, 3][d])],
      ['C', make('C', dates, (d) => [3, 2, 1][d])],
      ['D', make('D', ['d3'], () => 4)],
      ['E', make('E', ['d3'], () => 0)],
    ]);
    normalizeFeatures(bySymbol);
    const value = (symbol: string, date: string): number | undefined => bySymbol.get(symbol)?.find((row) => row.date === date)?.values[0];
    assert.equal(value('A', 'd1'), 0.5);
    assert.equal(value('A', 'd2'), 0);
    assert.equal(value('B', 'd2'), 1);
    assert.equal(value('C', 'd2'), 0);
    // d3 across A=10, B=3, C=1, D=4, E=0.
    assert.deepEqual(
      ['A', 'B', 'C', 'D', 'E'].map((symbol) => value(symbol, 'd3')),
      [1, 0.5, 0.25, 0.75, 0],
    );
  });

  it('keeps trailing ranks to the last 252 rows of the symbol', () => {
    const dates = Array.from({ length: 300 }, (_, d) => `d${String(d).padStart(3, '0')}`);
    const rows: FeatureRow[] = dates.map((date, d) => ({ symbol: 'X', date, seriesIndex: d, raw: [d < 40 ? 1000 : d], values: [] }));
    normalizeFeatures(new Map([['X', rows]]));
    // Row 299 sees rows 48..299 only, so the early 1000s are out of its window: it is the highest.
    assert.equal(rows[299].values[0], 1);
    assert.ok((rows[250].values[0] ?? 1) < 1);
  });

  it('cuts the target at the 20/40/60/80th percentiles and buckets by how many cut points a return reaches', () => {
    const returns = Array.from({ length: 101 }, (_, i) => i / 100);
    const cuts = quintileThresholds(returns);
    assert.deepEqual(
      cuts.map((cut) => Number(cut.toFixed(10))),
      [0.2, 0.4, 0.6, 0.8],
    );
    assert.deepEqual(
      [0.1, 0.2, 0.39, 0.5, 0.7, 0.95].map((r) => bucketTarget(r, cuts)),
      [0, 0.25, 0.25, 0.5, 0.75, 1],
    );
  });
});
