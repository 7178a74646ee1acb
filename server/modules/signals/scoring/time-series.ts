import { alignedLength, type Values } from './inputs';
import { pick } from './symbol-filter';
import { pearson } from './vector';

/** The label of the fallback score wherever it is shown or stored: it is not numerai_corr. */
export const TIME_SERIES_CORR = 'time_series_corr';

/** Two dates always correlate at ±1: a time-series correlation needs at least three. */
export const MIN_TIME_SERIES_DATES = 3;

export interface TimeSeriesCorr {
  kind: typeof TIME_SERIES_CORR;
  /** The Pearson correlation over the dates; NaN when fewer than MIN_TIME_SERIES_DATES or a side is constant. */
  corr: number;
  /** How many dates it was computed over. */
  dates: number;
}

/**
 * The fallback for rounds with too few symbols per date for a cross-sectional score (a one-index round):
 * the Pearson correlation, across the dates of the live period, of one symbol's predictions with its
 * realized target, both aligned by date. Dates where either side is NaN are left out.
 */
export function timeSeriesCorr(predictions: Values, target: Values): TimeSeriesCorr {
  const count = alignedLength('timeSeriesCorr', { predictions, target });
  const kept: number[] = [];
  for (let i = 0; i < count; i += 1) if (!Number.isNaN(predictions[i]) && !Number.isNaN(target[i])) kept.push(i);
  const corr = kept.length < MIN_TIME_SERIES_DATES ? Number.NaN : pearson(pick(predictions, kept), pick(target, kept));
  return { kind: TIME_SERIES_CORR, corr, dates: kept.length };
}
