import type { DataSource } from 'typeorm';
import { DomainError, badInput } from '../../domain-error';
import type { Principal } from '../identity/principal';
import { consensusWeights } from './consensus-weights';
import { recentScores } from './recent-scores';
import { callModelEndpoint, liveModelOfTask, type ServingModel } from './model-endpoint';
import { ConsensusInferenceResponseSchema } from '../../../generated/contracts';

/** A model's signal counts for the consensus this long after its asOf. */
const LOOKBACK_DAYS = 7;

export interface Contribution {
  modelId: string;
  vendorId: string;
  deploymentId: string;
  score: number;
  confidence: number;
  asOf: Date;
  weight: number;
}

export interface ConsensusAnswer {
  symbol: string;
  asOf: Date;
  horizonDays: number;
  score: number | null;
  /** The selected CONSENSUS model's confidence; null for the built-in method. */
  confidence: number | null;
  dispersion: number | null;
  models: number;
  method: string;
  contributors: Contribution[];
}

interface LatestSignal {
  symbol: string;
  model_id: string;
  vendor_id: string;
  deployment_id: string;
  score: number;
  confidence: number;
  as_of: Date;
}

/**
 * The built-in consensus: each LIVE model's latest signal for the symbol and horizon (asOf in
 * the LOOKBACK_DAYS up to the asked asOf), weighted by the models' recent scores shrunk toward
 * equal weights (consensusWeights says how; equal without any record). The weighted mean is the
 * consensus, the weighted standard deviation its dispersion. A vendor sees its own contributions.
 */
export class ConsensusService {
  constructor(private readonly dataSource: DataSource) {}

  async compute(
    principal: Principal | null,
    args: { symbol: string; asOf?: Date | string | null; horizonDays?: number | null; model?: string | null },
  ): Promise<ConsensusAnswer> {
    if (!principal) throw new DomainError('UNAUTHENTICATED', 'the consensus needs an API key (mp login)');
    const symbol = args.symbol.trim();
    if (!symbol || symbol.length > 16) throw badInput('symbol', 'must be 1 to 16 characters');
    if (args.model && principal.role !== 'ADMIN') {
      throw new DomainError('FORBIDDEN', "choosing a CONSENSUS model needs an operator (admin) key: the model receives every LIVE model's signal");
    }
    const serving = args.model ? await liveModelOfTask(this.dataSource, args.model, 'CONSENSUS', 'model') : null;
    const [answer] = await this.combine({ ...args, symbols: [symbol] });
    const combined = serving && answer.models > 0 ? await this.byModel(serving, answer) : answer;
    return visibleTo(principal, serving && answer.models === 0 ? { ...answer, method: `${serving.slug}: nothing to combine` } : combined);
  }

  /** The consensus of each symbol at once (the optimizer's inputs): one query for all of them. */
  async computeMany(
    principal: Principal | null,
    args: { symbols: readonly string[]; asOf?: Date | string | null; horizonDays?: number | null },
  ): Promise<ConsensusAnswer[]> {
    if (!principal) throw new DomainError('UNAUTHENTICATED', 'the consensus needs an API key (mp login)');
    return (await this.combine(args)).map((answer) => visibleTo(principal, answer));
  }

  /** A vendor's CONSENSUS deployment combines the same signals and weights instead (ConsensusInference). */
  private async byModel(serving: ServingModel, answer: ConsensusAnswer): Promise<ConsensusAnswer> {
    const request = {
      symbol: answer.symbol,
      asOf: answer.asOf.toISOString(),
      horizonDays: answer.horizonDays,
      signals: answer.contributors.map((c) => ({ modelId: c.modelId, score: c.score, confidence: c.confidence, weight: c.weight })),
    };
    const response = await callModelEndpoint(serving, '/v1/consensus', request, ConsensusInferenceResponseSchema);
    return { ...answer, score: response.score, confidence: response.confidence, method: `${serving.slug} (model ${response.modelVersion})` };
  }

  private async combine(args: { symbols: readonly string[]; asOf?: Date | string | null; horizonDays?: number | null }): Promise<ConsensusAnswer[]> {
    const horizonDays = args.horizonDays ?? 5;
    if (!Number.isInteger(horizonDays) || horizonDays < 1 || horizonDays > 365) throw badInput('horizonDays', 'must be a whole number from 1 to 365');
    const asOf = args.asOf ? new Date(args.asOf) : new Date();
    if (Number.isNaN(asOf.getTime())) throw badInput('asOf', 'must be an ISO 8601 date-time');

    const rows: LatestSignal[] = await this.dataSource.query(
      `SELECT DISTINCT ON (s.symbol, m.id) s.symbol, m.id AS model_id, s.vendor_id, s.deployment_id, s.score, s.confidence, s.as_of
       FROM catalog_models m
       JOIN deployments d ON d.id = m.deployment_id AND d.health = 'HEALTHY' AND d.status IN ('STARTING', 'RUNNING')
       JOIN signals s ON s.model_id = m.id AND s.symbol = ANY($1) AND s.horizon_days = $2
         AND s.as_of <= $3 AND s.as_of > $3::timestamptz - make_interval(days => $4)
       WHERE m.status = 'PUBLISHED'
       ORDER BY s.symbol, m.id, s.as_of DESC, s.written_at DESC`,
      [[...args.symbols], horizonDays, asOf.toISOString(), LOOKBACK_DAYS],
    );
    const records = await recentScores(this.dataSource, [...new Set(rows.map((row) => row.model_id))]);
    return args.symbols.map((symbol) => {
      const latest = rows.filter((row) => row.symbol === symbol);
      const { weights, method } = consensusWeights(latest.map((row) => records.get(row.model_id) ?? null));
      const contributors = latest.map((row, i) => ({
        modelId: row.model_id,
        vendorId: row.vendor_id,
        deploymentId: row.deployment_id,
        score: row.score,
        confidence: row.confidence,
        asOf: new Date(row.as_of),
        weight: weights[i],
      }));
      const score = contributors.length ? contributors.reduce((sum, c) => sum + c.weight * c.score, 0) : null;
      const dispersion = score === null ? null : Math.sqrt(contributors.reduce((sum, c) => sum + c.weight * (c.score - score) ** 2, 0));
      return { symbol, asOf, horizonDays, score, confidence: null, dispersion, models: contributors.length, method, contributors };
    });
  }
}

/** An admin sees every contribution; a vendor its own (the others' signals are theirs). */
function visibleTo(principal: Principal, answer: ConsensusAnswer): ConsensusAnswer {
  return principal.role === 'ADMIN' ? answer : { ...answer, contributors: answer.contributors.filter((c) => c.vendorId === principal.vendorId) };
}
