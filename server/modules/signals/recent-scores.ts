import type { Queryable } from '../../db/notifications';
import type { RecentScore } from './consensus-weights';

/**
 * Each model's record from the newest round it was scored in (before `beforeRound` when given:
 * what was known when that round was live). The dates a time-series score rests on are its
 * symbols' paired dates.
 */
export async function recentScores(db: Queryable, modelIds: readonly string[], beforeRound?: number): Promise<Map<string, RecentScore>> {
  if (modelIds.length === 0) return new Map();
  const rows = (await db.query(
    `SELECT DISTINCT ON (model_id) model_id, corr_mean,
            CASE WHEN method = 'CROSS_SECTIONAL' THEN scored
                 ELSE COALESCE((SELECT MAX((entry->>'dates')::int) FROM jsonb_array_elements(details->'symbols') entry), 0) END AS dates
       FROM model_scores
      WHERE model_id = ANY($1) AND ($2::int IS NULL OR round_number < $2)
      ORDER BY model_id, round_number DESC`,
    [[...modelIds], beforeRound ?? null],
  )) as { model_id: string; corr_mean: number | null; dates: number }[];
  return new Map(rows.map((row) => [row.model_id, { corr: row.corr_mean, dates: Number(row.dates) }]));
}
