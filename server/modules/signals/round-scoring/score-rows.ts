import type { RoundScores, ScoreSummary } from '../scoring';

/** One row of model_scores, as written. */
export interface ScoreRow {
  subject: string;
  method: 'CROSS_SECTIONAL' | 'TIME_SERIES_CORR';
  corr: ScoreSummary;
  mmc: ScoreSummary | null;
  fnc: ScoreSummary | null;
  scored: number;
  details: ScoreDetails;
}

export interface ScoreDetails {
  label: string;
  dates: { date: string; numeraiCorr: number | null; mmc: number | null; fnc: number | null }[];
  symbols: { symbol: string; corr: number | null; dates: number }[];
  unscored: string[];
}

/** NaN (a score undefined on that date) is stored and shown as null. */
export const finite = (value: number): number | null => (Number.isFinite(value) ? value : null);

/** The label of cross-sectional scores, wherever they are shown. */
export const CROSS_SECTIONAL_LABEL = 'numerai_corr per date across the symbols (MMC against the consensus, FNC against the round features)';

/** The rows a scored round is stored as: one per subject, with the per-date (or per-symbol) scores in `details`. */
export function scoreRows(scores: RoundScores): ScoreRow[] {
  if (scores.method === 'cross_sectional') {
    const tooFew = scores.tooFewSymbols.map((date) => `${date}: too few symbols for a cross-sectional score`);
    return [...scores.models].map(([subject, model]) => ({
      subject,
      method: 'CROSS_SECTIONAL',
      corr: model.summary.numeraiCorr,
      mmc: model.summary.mmc,
      fnc: model.summary.fnc,
      scored: model.summary.numeraiCorr.count,
      details: {
        label: CROSS_SECTIONAL_LABEL,
        dates: model.dates.map((date) => ({ date: date.date, numeraiCorr: finite(date.numeraiCorr), mmc: finite(date.mmc), fnc: finite(date.fnc) })),
        symbols: [],
        unscored: [...model.unscored.map((entry) => `${entry.date}: ${entry.reason}`), ...tooFew],
      },
    }));
  }
  return [...scores.models].map(([subject, model]) => ({
    subject,
    method: 'TIME_SERIES_CORR',
    corr: model.summary,
    mmc: null,
    fnc: null,
    scored: model.summary.count,
    details: {
      label: scores.label,
      dates: [],
      symbols: model.symbols.map((entry) => ({ symbol: entry.symbol, corr: finite(entry.corr), dates: entry.dates })),
      unscored: model.symbols.filter((entry) => Number.isNaN(entry.corr)).map((entry) => `${entry.symbol}: fewer than 3 dates with a prediction and a target`),
    },
  }));
}
