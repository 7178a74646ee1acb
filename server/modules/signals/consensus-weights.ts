/** A model's record, from the newest round it was scored in. */
export interface RecentScore {
  /** Its mean corr there (numerai_corr, or the time-series correlation of a one-index round). */
  corr: number | null;
  /** How many dates that mean is over. */
  dates: number;
}

/** How quickly score weighting takes over from equal weights: at this many scored dates, halfway. */
export const SHRINKAGE_DATES = 60;

export interface ConsensusWeights {
  /** One per contributor, summing to 1 (empty for none). */
  weights: number[];
  /** What the weights are, in words, for the answer. */
  method: string;
}

/**
 * The consensus weights of the contributing models. Without any positive record they are
 * equal. Otherwise each model's share of the positive mean corrs (a model with none, or a
 * negative one, has 0) is shrunk toward the equal weight,
 *
 *   w_i = (1 - α) / n + α · max(corr_i, 0) / Σ_j max(corr_j, 0),   α = D / (D + SHRINKAGE_DATES),
 *
 * D being the fewest dates any scored contributor's record rests on: a record over a handful of
 * dates is mostly noise, so it moves the weights little; one over a year of dates moves them most
 * of the way. The same weights make the meta model MMC is scored against.
 */
export function consensusWeights(records: readonly (RecentScore | null)[]): ConsensusWeights {
  const n = records.length;
  if (n === 0) return { weights: [], method: 'equal-weight' };
  const positive = records.map((record) => Math.max(0, record?.corr ?? 0));
  const total = positive.reduce((sum, value) => sum + value, 0);
  const scored = records.filter((record): record is RecentScore => record !== null && record.corr !== null);
  if (total <= 0 || scored.length === 0) return { weights: records.map(() => 1 / n), method: 'equal-weight' };
  const fewestDates = Math.min(...scored.map((record) => record.dates));
  const alpha = fewestDates / (fewestDates + SHRINKAGE_DATES);
  return {
    weights: positive.map((value) => (1 - alpha) / n + (alpha * value) / total),
    method: `score-weighted: each model's share of the positive recent mean corrs, shrunk toward equal weights (α = ${alpha.toFixed(3)} after ${fewestDates} scored dates)`,
  };
}
