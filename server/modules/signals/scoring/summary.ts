/** A model's per-date scores of one kind summarized across the dates of a round. */
export interface ScoreSummary {
  /** Dates with a score; NaN scores (undefined on that date) are left out of every figure. */
  count: number;
  mean: number;
  /** Population standard deviation (ddof 0), as numerai-tools' `sharpe_ratio` takes it. */
  std: number;
  /** mean / std; NaN when std is 0 (one date, or equal scores). */
  sharpe: number;
  /** The share of the dates with a score above 0. */
  hitRate: number;
}

export function summarizeScores(scores: readonly number[]): ScoreSummary {
  const present = scores.filter((score) => !Number.isNaN(score));
  const count = present.length;
  if (count === 0) return { count, mean: Number.NaN, std: Number.NaN, sharpe: Number.NaN, hitRate: Number.NaN };
  const mean = present.reduce((sum, score) => sum + score, 0) / count;
  const std = Math.sqrt(present.reduce((sum, score) => sum + (score - mean) ** 2, 0) / count);
  const hits = present.filter((score) => score > 0).length;
  return { count, mean, std, sharpe: std > 0 ? mean / std : Number.NaN, hitRate: hits / count };
}
