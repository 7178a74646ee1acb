import DataLoader from 'dataloader';
import type { DataSource } from 'typeorm';
import { decodeCursor, encodeCursor, pageSize } from '../../../db/pagination';
import { DomainError, badInput } from '../../../domain-error';
import type { LeaderboardSort } from '../../../../generated/schema-types';
import type { CatalogModelEntity } from '../../catalog/catalog-model.entity';
import { CONSENSUS_SUBJECT } from './round-inputs';
import type { ScoreDetails } from './score-rows';

/** Scores of models anyone may see: listed in the catalog (published or deprecated). */
const VISIBLE = `m.status IN ('PUBLISHED', 'DEPRECATED')`;

const SORT_COLUMNS: Record<LeaderboardSort, string> = {
  CORR: 'ms.corr_mean',
  CORR_SHARPE: 'ms.corr_sharpe',
  MMC: 'ms.mmc_mean',
  FNC: 'ms.fnc_mean',
};

interface Summary {
  mean: number | null;
  std: number | null;
  sharpe: number | null;
  hitRate: number | null;
  count: number;
}

/** What the RoundScores type resolves from. */
export interface RoundScoresView {
  round: number;
  subject: string;
  modelId: string | null;
  vendorId: string | null;
  method: 'CROSS_SECTIONAL' | 'TIME_SERIES_CORR';
  label: string;
  corr: Summary;
  mmc: Summary | null;
  fnc: Summary | null;
  scored: number;
  rank: number | null;
  rankedModels: number;
  scoredAt: Date;
  dates: ScoreDetails['dates'];
  symbols: ScoreDetails['symbols'];
  unscored: string[];
}

interface ScoreRecord {
  round_number: number;
  subject: string;
  model_id: string | null;
  vendor_id: string | null;
  method: RoundScoresView['method'];
  corr_mean: number | null;
  corr_std: number | null;
  corr_sharpe: number | null;
  corr_hit_rate: number | null;
  mmc_mean: number | null;
  mmc_std: number | null;
  mmc_sharpe: number | null;
  fnc_mean: number | null;
  fnc_std: number | null;
  fnc_sharpe: number | null;
  scored: number;
  details: ScoreDetails | string;
  scored_at: Date;
  corr_rank: number | null;
  ranked: number;
}

/** Each visible model's rows with its rank by mean corr within its round (`corr_rank`) and the round's ranked count. */
const RANKED = `
  SELECT ms.*, RANK() OVER (PARTITION BY ms.round_number ORDER BY ms.corr_mean DESC NULLS LAST) AS corr_rank,
         COUNT(*) OVER (PARTITION BY ms.round_number) AS ranked
    FROM model_scores ms JOIN catalog_models m ON m.id = ms.model_id AND ${VISIBLE}`;

export interface LeaderboardEntryView {
  rank: number;
  modelId: string;
  vendorId: string;
  scores: RoundScoresView;
}

export interface ModelPerformanceView {
  model: CatalogModelEntity;
  rounds: RoundScoresView[];
}

export interface LeaderboardView {
  round: number;
  method: RoundScoresView['method'];
  label: string;
  consensus: RoundScoresView | null;
  entries: LeaderboardEntryView[];
  hasNextPage: boolean;
  offset: number;
  totalCount: number;
}

/** Reading scores: the leaderboard, a model's performance, and the catalog's latest scores (batched). */
export class ScoreReads {
  constructor(private readonly dataSource: DataSource) {}

  async leaderboard(args: {
    round?: number | null;
    sort?: LeaderboardSort | null;
    first?: number | null;
    after?: string | null;
  }): Promise<LeaderboardView | null> {
    const size = pageSize(args.first, 50);
    const [offset] = (decodeCursor(args.after, ['integer']) as [number] | undefined) ?? [0];
    const sort = SORT_COLUMNS[args.sort ?? 'CORR'];
    const round = args.round ?? (await this.newestScoredRound());
    if (round === null) return null;
    if (!Number.isInteger(round) || round < 1) throw badInput('round', 'must be a round number (1 or more)');
    const [status] = (await this.dataSource.query(`SELECT status FROM dataset_rounds WHERE number = $1`, [round])) as { status: string }[];
    if (!status) throw new DomainError('NOT_FOUND', `no round ${round}`);
    if (status.status !== 'RESOLVED')
      throw new DomainError('PRECONDITION_FAILED', `round ${round} is ${status.status}: a round has scores once it is RESOLVED`);

    const records: (ScoreRecord & { rank: number })[] = await this.dataSource.query(
      `SELECT r.*, RANK() OVER (ORDER BY ${sort.replace('ms.', 'r.')} DESC NULLS LAST) AS rank
         FROM (${RANKED} WHERE ms.round_number = $1) r
        ORDER BY rank, r.subject LIMIT $2 OFFSET $3`,
      [round, size + 1, offset],
    );
    const [consensus] = (await this.dataSource.query(`SELECT *, NULL AS corr_rank, 0 AS ranked FROM model_scores WHERE round_number = $1 AND subject = $2`, [
      round,
      CONSENSUS_SUBJECT,
    ])) as ScoreRecord[];
    const total = records[0]?.ranked ?? (await this.countRanked(round));
    const entries = records.slice(0, size).map((record) => ({
      rank: Number(record.rank),
      modelId: record.model_id!,
      vendorId: record.vendor_id ?? '',
      scores: toView(record),
    }));
    const first = entries[0]?.scores ?? (consensus ? toView(consensus) : null);
    return {
      round,
      method: first?.method ?? 'CROSS_SECTIONAL',
      label: first?.label ?? 'no model has signals for this round',
      consensus: consensus ? toView(consensus, Number(total)) : null,
      entries,
      hasNextPage: records.length > size,
      offset,
      totalCount: Number(total),
    };
  }

  /** Every round a visible model was scored in, newest first. */
  async performance(modelId: string): Promise<RoundScoresView[]> {
    const records: ScoreRecord[] = await this.dataSource.query(`SELECT * FROM (${RANKED}) r WHERE r.model_id = $1 ORDER BY r.round_number DESC`, [modelId]);
    return records.map((record) => toView(record));
  }

  /** The newest round's scores per model, batched for the catalog. */
  latestLoader(): DataLoader<string, RoundScoresView | null> {
    return new DataLoader(async (ids: readonly string[]) => {
      const records: ScoreRecord[] = await this.dataSource.query(
        `SELECT DISTINCT ON (r.model_id) * FROM (${RANKED} WHERE ms.model_id = ANY($1)) r ORDER BY r.model_id, r.round_number DESC`,
        [[...ids]],
      );
      const byModel = new Map(records.map((record) => [record.model_id, toView(record)]));
      return ids.map((id) => byModel.get(id) ?? null);
    });
  }

  cursorAt(offset: number): string {
    return encodeCursor([offset]);
  }

  private async newestScoredRound(): Promise<number | null> {
    const [row] = (await this.dataSource.query(`SELECT MAX(round_number) AS round FROM model_scores`)) as { round: number | null }[];
    return row?.round ?? null;
  }

  private async countRanked(round: number): Promise<number> {
    const [row] = (await this.dataSource.query(
      `SELECT COUNT(*)::int AS count FROM model_scores ms JOIN catalog_models m ON m.id = ms.model_id AND ${VISIBLE} WHERE ms.round_number = $1`,
      [round],
    )) as { count: number }[];
    return Number(row.count);
  }
}

function summary(mean: number | null, std: number | null, sharpe: number | null, hitRate: number | null, count: number): Summary {
  return { mean, std, sharpe, hitRate, count };
}

function toView(record: ScoreRecord, rankedModels?: number): RoundScoresView {
  const details: ScoreDetails = typeof record.details === 'string' ? (JSON.parse(record.details) as ScoreDetails) : record.details;
  const crossSectional = record.method === 'CROSS_SECTIONAL';
  return {
    round: record.round_number,
    subject: record.subject,
    modelId: record.model_id,
    vendorId: record.vendor_id,
    method: record.method,
    label: details.label,
    corr: summary(record.corr_mean, record.corr_std, record.corr_sharpe, record.corr_hit_rate, record.scored),
    mmc: crossSectional ? summary(record.mmc_mean, record.mmc_std, record.mmc_sharpe, null, record.scored) : null,
    fnc: crossSectional ? summary(record.fnc_mean, record.fnc_std, record.fnc_sharpe, null, record.scored) : null,
    scored: record.scored,
    rank: record.corr_rank === null ? null : Number(record.corr_rank),
    rankedModels: rankedModels ?? Number(record.ranked),
    scoredAt: new Date(record.scored_at),
    dates: details.dates,
    symbols: details.symbols,
    unscored: details.unscored,
  };
}
