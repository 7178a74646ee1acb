import type { PriceRow } from './types';

/** A row gets features only once its symbol has this many earlier rows (the 60-day warm-up). */
export const WARM_UP_ROWS = 60;

interface FeatureDefinition {
  name: string;
  /** How the raw value is computed, for the README. */
  computed: string;
  /** The raw value at row `i` of one symbol's series, using rows 0..i only. */
  value: (s: SeriesView, i: number) => number;
}

/** One symbol's prices as arrays, plus precomputed daily returns and RSI. */
interface SeriesView {
  close: number[];
  high: number[];
  low: number[];
  volume: number[];
  /** dailyReturn[i] = close[i] / close[i-1] - 1 (NaN at 0). */
  dailyReturn: number[];
  /** Wilder RSI(14) at each row (NaN before row 14). */
  rsi: number[];
}

const RSI_PERIOD = 14;

const FEATURES: FeatureDefinition[] = [
  { name: 'return_1d', computed: 'close / previous close - 1', value: (s, i) => trailingReturn(s, i, 1) },
  { name: 'return_5d', computed: 'close / close 5 rows earlier - 1', value: (s, i) => trailingReturn(s, i, 5) },
  { name: 'return_20d', computed: 'close / close 20 rows earlier - 1', value: (s, i) => trailingReturn(s, i, 20) },
  { name: 'return_60d', computed: 'close / close 60 rows earlier - 1', value: (s, i) => trailingReturn(s, i, 60) },
  {
    name: 'volatility_20d',
    computed: 'sample standard deviation of the last 20 daily close-to-close returns',
    value: (s, i) => sampleStd(s.dailyReturn, i - 19, i),
  },
  {
    name: 'volatility_60d',
    computed: 'sample standard deviation of the last 60 daily close-to-close returns',
    value: (s, i) => sampleStd(s.dailyReturn, i - 59, i),
  },
  { name: 'range_1d', computed: "the day's (high - low) / close", value: (s, i) => dayRange(s, i) },
  {
    name: 'range_20d',
    computed: 'average of (high - low) / close over the last 20 rows',
    value: (s, i) => average(20, (k) => dayRange(s, i - k)),
  },
  {
    name: 'volume_zscore_20d',
    computed: '(volume - mean) / standard deviation of volume over the last 20 rows, today included (0 when volume is constant)',
    value: (s, i) => zScore(s.volume, i - 19, i),
  },
  { name: 'rsi_14', computed: "Wilder's 14-day relative strength index of closes (0..100)", value: (s, i) => s.rsi[i] },
  {
    name: 'sma_20_distance',
    computed: 'close / simple moving average of the last 20 closes - 1',
    value: (s, i) => s.close[i] / average(20, (k) => s.close[i - k]) - 1,
  },
  {
    name: 'sma_50_distance',
    computed: 'close / simple moving average of the last 50 closes - 1',
    value: (s, i) => s.close[i] / average(50, (k) => s.close[i - k]) - 1,
  },
  {
    name: 'drawdown_20d',
    computed: 'largest fall from a running peak within the last 20 closes, as a fraction (0 = no fall, 0.1 = a 10% fall)',
    value: (s, i) => maxDrawdown(s.close, i - 19, i),
  },
];

export const FEATURE_NAMES: string[] = FEATURES.map((feature) => feature.name);

/** Raw (not yet normalized) feature values of one row of a symbol's series. */
export interface RawFeatureRow {
  /** Index of the row in the symbol's series. */
  index: number;
  values: number[];
}

/**
 * Raw features for every row of one symbol's series (ascending by date) that has WARM_UP_ROWS
 * earlier rows. Each value at row i uses rows 0..i of the series only: never a later price.
 */
export function computeRawFeatures(series: PriceRow[]): RawFeatureRow[] {
  const view = seriesView(series);
  const rows: RawFeatureRow[] = [];
  for (let i = WARM_UP_ROWS; i < series.length; i++) {
    rows.push({ index: i, values: FEATURES.map((feature) => feature.value(view, i)) });
  }
  return rows;
}

function seriesView(series: PriceRow[]): SeriesView {
  const close = series.map((row) => row.close);
  const dailyReturn = close.map((value, i) => (i === 0 ? Number.NaN : value / close[i - 1] - 1));
  return {
    close,
    high: series.map((row) => row.high),
    low: series.map((row) => row.low),
    volume: series.map((row) => row.volume),
    dailyReturn,
    rsi: wilderRsi(close, RSI_PERIOD),
  };
}

function trailingReturn(s: SeriesView, i: number, rows: number): number {
  return s.close[i] / s.close[i - rows] - 1;
}

function dayRange(s: SeriesView, i: number): number {
  return (s.high[i] - s.low[i]) / s.close[i];
}

/** Mean of `valueAt(0..count-1)`. */
function average(count: number, valueAt: (k: number) => number): number {
  let sum = 0;
  for (let k = 0; k < count; k++) sum += valueAt(k);
  return sum / count;
}

function sampleStd(values: number[], from: number, to: number): number {
  const n = to - from + 1;
  const mean = average(n, (k) => values[from + k]);
  let squares = 0;
  for (let k = from; k <= to; k++) squares += (values[k] - mean) ** 2;
  return Math.sqrt(squares / (n - 1));
}

function zScore(values: number[], from: number, to: number): number {
  const n = to - from + 1;
  const mean = average(n, (k) => values[from + k]);
  let squares = 0;
  for (let k = from; k <= to; k++) squares += (values[k] - mean) ** 2;
  const std = Math.sqrt(squares / n);
  return std > 0 ? (values[to] - mean) / std : 0;
}

function maxDrawdown(close: number[], from: number, to: number): number {
  let peak = close[from];
  let worst = 0;
  for (let k = from; k <= to; k++) {
    peak = Math.max(peak, close[k]);
    worst = Math.max(worst, 1 - close[k] / peak);
  }
  return worst;
}

/**
 * Wilder's RSI: the first average gain and loss are plain means of the first `period` changes,
 * then each day avg = (avg * (period - 1) + today) / period. RSI = 100 - 100 / (1 + gain / loss),
 * 100 when there were no losses, 50 when the price did not move at all.
 */
function wilderRsi(close: number[], period: number): number[] {
  const rsi = close.map(() => Number.NaN);
  if (close.length <= period) return rsi;
  let gain = 0;
  let loss = 0;
  for (let i = 1; i <= period; i++) {
    const change = close[i] - close[i - 1];
    gain += Math.max(change, 0) / period;
    loss += Math.max(-change, 0) / period;
  }
  rsi[period] = rsiValue(gain, loss);
  for (let i = period + 1; i < close.length; i++) {
    const change = close[i] - close[i - 1];
    gain = (gain * (period - 1) + Math.max(change, 0)) / period;
    loss = (loss * (period - 1) + Math.max(-change, 0)) / period;
    rsi[i] = rsiValue(gain, loss);
  }
  return rsi;
}

function rsiValue(gain: number, loss: number): number {
  if (loss === 0) return gain === 0 ? 50 : 100;
  return 100 - 100 / (1 + gain / loss);
}

/** Rows of a date with at least this many symbols are ranked across symbols. */
export const MIN_SYMBOLS_FOR_CROSS_SECTION = 5;
/** Otherwise each value is ranked within this many trailing rows of its own symbol. */
export const TRAILING_RANK_ROWS = 252;

/** How every published feature value is normalized (one paragraph, for the README). */
export const NORMALIZATION_DOC =
  `Every feature is published as a percentile rank from 0 to 1 within its date, rounded to 4 decimals: ` +
  `on a date with at least ${MIN_SYMBOLS_FOR_CROSS_SECTION} symbols, the rank of the symbol's raw value among all symbols that date ` +
  `(lowest 0, highest 1, ties share the average rank); on a date with fewer symbols (for example a one-symbol index file), ` +
  `the rank of today's raw value among the symbol's own last ${TRAILING_RANK_ROWS} rows, today included (fewer at the start of the series). ` +
  `Both use data up to and including that date only. A symbol's first ${WARM_UP_ROWS} rows are a warm-up and get no features.`;

/** One line per feature: its name and how it is computed. */
export const FEATURE_DOCS: { name: string; description: string }[] = FEATURES.map((feature) => ({
  name: feature.name,
  description: `${feature.computed}; published as a 0..1 percentile rank within its date (see normalization).`,
}));
