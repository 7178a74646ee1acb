import type { DataSource } from 'typeorm';
import type { Notifications } from '../../../db/notifications';
import type { DatasetsService } from '../../datasets/datasets.service';
import { scoreRound } from '../scoring';
import { CONSENSUS_SUBJECT, loadRoundInputs, withConsensus } from './round-inputs';
import { finite, scoreRows, type ScoreRow } from './score-rows';

/** Sent when a round's scores are replaced: the leaderboard and the catalog's scores are stale. */
export const SCORES_CHANNEL = 'mp_scores';

export interface ScoredRound {
  method: ScoreRow['method'];
  label: string;
  /** Models scored (the consensus not counted). */
  models: number;
}

/**
 * Scores a RESOLVED round from what is stored (its files and its signals) and replaces its rows in
 * model_scores in one transaction: the same signals always give the same rows.
 */
export async function scoreStoredRound(
  dataSource: DataSource,
  notifications: Notifications,
  datasets: DatasetsService,
  roundNumber: number,
): Promise<ScoredRound> {
  const [round] = (await dataSource.query(`SELECT number, horizon_days AS "horizonDays", status FROM dataset_rounds WHERE number = $1`, [roundNumber])) as {
    number: number;
    horizonDays: number;
    status: string;
  }[];
  if (!round) throw new Error(`no round ${roundNumber}`);
  if (round.status !== 'RESOLVED') throw new Error(`round ${roundNumber} is ${round.status}, not RESOLVED`);
  const inputs = await loadRoundInputs(dataSource, datasets, round);
  const rows = scoreRows(scoreRound(inputs.dates, withConsensus(inputs)));
  const method = rows[0]?.method ?? (inputs.dates.some((date) => date.symbols.length >= 20) ? 'CROSS_SECTIONAL' : 'TIME_SERIES_CORR');
  const label = rows[0]?.details.label ?? '';
  await dataSource.transaction(async (manager) => {
    await manager.query(`DELETE FROM model_scores WHERE round_number = $1`, [roundNumber]);
    if (rows.length > 0) {
      // A model deleted since it wrote its signals has no catalog row to point at: it is not scored.
      const existing = new Set(
        ((await manager.query(`SELECT id FROM catalog_models WHERE id = ANY($1)`, [rows.map((row) => row.subject)])) as { id: string }[]).map((row) => row.id),
      );
      const kept = rows.filter((row) => row.subject === CONSENSUS_SUBJECT || existing.has(row.subject));
      const column = (pick: (row: ScoreRow) => number | null | undefined): (number | null)[] => kept.map((row) => pick(row) ?? null);
      await manager.query(
        `INSERT INTO model_scores (round_number, subject, model_id, vendor_id, method, corr_mean, corr_std, corr_sharpe, corr_hit_rate,
                                   mmc_mean, mmc_std, mmc_sharpe, fnc_mean, fnc_std, fnc_sharpe, scored, details, scored_at)
         SELECT $1, u.subject, NULLIF(u.subject, '${CONSENSUS_SUBJECT}'), u.vendor_id, u.method, u.corr_mean, u.corr_std, u.corr_sharpe, u.corr_hit_rate,
                u.mmc_mean, u.mmc_std, u.mmc_sharpe, u.fnc_mean, u.fnc_std, u.fnc_sharpe, u.scored, u.details::jsonb, now()
           FROM unnest($2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::float8[], $8::float8[],
                       $9::float8[], $10::float8[], $11::float8[], $12::float8[], $13::float8[], $14::float8[], $15::int[], $16::text[])
             AS u(subject, vendor_id, method, corr_mean, corr_std, corr_sharpe, corr_hit_rate, mmc_mean, mmc_std, mmc_sharpe,
                  fnc_mean, fnc_std, fnc_sharpe, scored, details)`,
        [
          roundNumber,
          kept.map((row) => row.subject),
          kept.map((row) => inputs.vendors.get(row.subject) ?? null),
          kept.map((row) => row.method),
          column((row) => finite(row.corr.mean)),
          column((row) => finite(row.corr.std)),
          column((row) => finite(row.corr.sharpe)),
          column((row) => finite(row.corr.hitRate)),
          column((row) => row.mmc && finite(row.mmc.mean)),
          column((row) => row.mmc && finite(row.mmc.std)),
          column((row) => row.mmc && finite(row.mmc.sharpe)),
          column((row) => row.fnc && finite(row.fnc.mean)),
          column((row) => row.fnc && finite(row.fnc.std)),
          column((row) => row.fnc && finite(row.fnc.sharpe)),
          kept.map((row) => row.scored),
          kept.map((row) => JSON.stringify(row.details)),
        ],
      );
    }
    await notifications.notify(manager, SCORES_CHANNEL, String(roundNumber));
  });
  return { method, label, models: rows.filter((row) => row.subject !== CONSENSUS_SUBJECT).length };
}
