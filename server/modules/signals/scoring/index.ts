/**
 * Numerai-grade scoring, pure: numbers in, numbers out (no database, no GraphQL). Each score takes one
 * date's arrays aligned by symbol (NaN marks a missing value); the round helpers put the dates together.
 * The facts ported are numerai-tools 0.6.0's (see ../shared/reference/scoring/README.md).
 */
export { numeraiCorr } from './numerai-corr';
export { correlationContribution } from './correlation-contribution';
export { featureNeutralCorr, featureNeutralCorrOn } from './feature-neutral-corr';
export { DateScorer, type DateInputs, type ModelDateScores } from './date-scorer';
export { summarizeScores, type ScoreSummary } from './summary';
export { MIN_TIME_SERIES_DATES, TIME_SERIES_CORR, timeSeriesCorr, type TimeSeriesCorr } from './time-series';
export {
  MIN_CROSS_SECTIONAL_SYMBOLS,
  scoreRound,
  type CrossSectionalScores,
  type DateScores,
  type RoundDate,
  type RoundPredictions,
  type RoundScores,
  type TimeSeriesScores,
} from './round';
export { InsufficientOverlapError, MAX_FILTERED_RATIO } from './symbol-filter';
export type { Values } from './inputs';
