import { DateScorer, type ModelDateScores } from './date-scorer';
import { alignedLength, type Values } from './inputs';
import { summarizeScores, type ScoreSummary } from './summary';
import { InsufficientOverlapError } from './symbol-filter';
import { TIME_SERIES_CORR, timeSeriesCorr } from './time-series';

/**
 * Fewer symbols than this on a date and a cross-sectional score is noise: the standard error of a
 * correlation over n symbols is about 1/√n, above 0.2 here, larger than any score a real model earns.
 */
export const MIN_CROSS_SECTIONAL_SYMBOLS = 20;

/** One date of a resolved round, every array aligned with `symbols`. */
export interface RoundDate {
  date: string;
  symbols: readonly string[];
  target: Values;
  /** One array per feature. */
  features: readonly Values[];
  /** The meta model MMC is measured against (the consensus), per symbol. */
  metaModel: Values;
}

/** A model's predictions per date, aligned with `dates[i].symbols`; undefined for a date it did not predict. */
export type RoundPredictions = ReadonlyMap<string, readonly (Values | undefined)[]>;

export interface DateScores extends ModelDateScores {
  date: string;
}

export interface CrossSectionalScores {
  dates: DateScores[];
  /** Dates the model is not scored on, with the reason (no predictions, too few symbols predicted). */
  unscored: { date: string; reason: string }[];
  summary: { numeraiCorr: ScoreSummary; mmc: ScoreSummary; fnc: ScoreSummary };
}

export interface TimeSeriesScores {
  symbols: { symbol: string; corr: number; dates: number }[];
  /** Across the symbols' correlations. */
  summary: ScoreSummary;
}

export type RoundScores =
  | {
      method: 'cross_sectional';
      /** Dates left out because they have fewer than `minSymbols` symbols. */
      tooFewSymbols: string[];
      models: Map<string, CrossSectionalScores>;
    }
  | {
      method: typeof TIME_SERIES_CORR;
      /** Says what the figure is, for wherever it is shown. */
      label: string;
      models: Map<string, TimeSeriesScores>;
    };

/**
 * Every model's scores over a resolved round: numerai_corr, MMC and FNC per date and their summaries
 * across dates, on the dates with at least `minSymbols` symbols. When no date has that many (a round of one
 * index), each symbol's time-series correlation over the round's dates instead, labelled as such.
 */
export function scoreRound(dates: readonly RoundDate[], predictions: RoundPredictions, minSymbols = MIN_CROSS_SECTIONAL_SYMBOLS): RoundScores {
  checkRound(dates, predictions);
  const scorable = dates.flatMap((date, index) => (date.symbols.length >= minSymbols ? [index] : []));
  if (scorable.length === 0 && dates.length > 0) {
    return {
      method: TIME_SERIES_CORR,
      label: `time-series correlation over the round's ${dates.length} dates, per symbol (not numerai_corr: fewer than ${minSymbols} symbols per date)`,
      models: scoreTimeSeries(dates, predictions),
    };
  }
  const models = new Map<string, CrossSectionalScores>();
  for (const model of predictions.keys()) models.set(model, { dates: [], unscored: [], summary: summarize([]) });
  for (const index of scorable) {
    const date = dates[index];
    const scorer = new DateScorer(date);
    for (const [model, perDate] of predictions) {
      const scores = models.get(model)!;
      const values = perDate[index];
      if (values === undefined) {
        scores.unscored.push({ date: date.date, reason: 'no predictions' });
        continue;
      }
      try {
        scores.dates.push({ date: date.date, ...scorer.score(values) });
      } catch (error) {
        if (!(error instanceof InsufficientOverlapError)) throw error;
        scores.unscored.push({ date: date.date, reason: error.message });
      }
    }
  }
  for (const scores of models.values()) scores.summary = summarize(scores.dates);
  const tooFewSymbols = dates.filter((date) => date.symbols.length < minSymbols).map((date) => date.date);
  return { method: 'cross_sectional', tooFewSymbols, models };
}

function summarize(dates: readonly DateScores[]): CrossSectionalScores['summary'] {
  return {
    numeraiCorr: summarizeScores(dates.map((date) => date.numeraiCorr)),
    mmc: summarizeScores(dates.map((date) => date.mmc)),
    fnc: summarizeScores(dates.map((date) => date.fnc)),
  };
}

function scoreTimeSeries(dates: readonly RoundDate[], predictions: RoundPredictions): Map<string, TimeSeriesScores> {
  const symbols = [...new Set(dates.flatMap((date) => date.symbols))].sort();
  const targets = new Map(symbols.map((symbol) => [symbol, dates.map((date) => valueOf(date, date.target, symbol))]));
  const models = new Map<string, TimeSeriesScores>();
  for (const [model, perDate] of predictions) {
    const perSymbol = symbols.map((symbol) => {
      const series = dates.map((date, d) => {
        const values = perDate[d];
        return values === undefined ? Number.NaN : valueOf(date, values, symbol);
      });
      const { corr, dates: count } = timeSeriesCorr(series, targets.get(symbol)!);
      return { symbol, corr, dates: count };
    });
    models.set(model, { symbols: perSymbol, summary: summarizeScores(perSymbol.map((entry) => entry.corr)) });
  }
  return models;
}

function valueOf(date: RoundDate, values: Values, symbol: string): number {
  const index = date.symbols.indexOf(symbol);
  return index < 0 ? Number.NaN : values[index];
}

/** Misaligned inputs are a caller's bug: a RangeError for the whole round, not a date left unscored. */
function checkRound(dates: readonly RoundDate[], predictions: RoundPredictions): void {
  dates.forEach((date, index) => {
    const where = `scoreRound (${date.date})`;
    const symbols = new Float64Array(date.symbols.length);
    const sides: Record<string, Values> = { symbols, target: date.target, metaModel: date.metaModel };
    date.features.forEach((feature, featureIndex) => (sides[`features[${featureIndex}]`] = feature));
    alignedLength(where, sides);
    if (new Set(date.symbols).size !== date.symbols.length) throw new RangeError(`${where}: a symbol appears twice`);
    for (const [model, perDate] of predictions) {
      if (perDate.length !== dates.length)
        throw new RangeError(`scoreRound: model ${model} has predictions for ${perDate.length} dates, the round has ${dates.length}`);
      const values = perDate[index];
      if (values !== undefined) alignedLength(where, { symbols, [`predictions of ${model}`]: values });
    }
  });
}
