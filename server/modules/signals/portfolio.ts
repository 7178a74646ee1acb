import type { DataSource } from 'typeorm';
import { DomainError, badInput } from '../../domain-error';
import type { Principal } from '../identity/principal';
import type { DatasetsService, RoundCloses } from '../datasets/datasets.service';
import type { ConsensusService } from './consensus';
import { OptimizerInferenceResponseSchema } from '../../../generated/contracts';
import { callModelEndpoint, liveModelOfTask, type ServingModel } from './model-endpoint';
import {
  TRADING_DAYS_PER_YEAR,
  dailySimpleReturns,
  ledoitWolf,
  optimizePortfolio,
  quadraticForm,
  type OptimizedPortfolio,
  type PortfolioConstraintsInput,
  type PriceHistory,
} from './optimizer';

/** The most symbols one optimization takes. */
export const MAX_PORTFOLIO_SYMBOLS = 500;
/** Trading days of history the covariance is estimated from (about three years). */
export const HISTORY_DAYS = 750;

export interface PortfolioArgs {
  symbols: readonly string[];
  asOf?: Date | string | null;
  horizonDays?: number | null;
  riskAversion: number;
  constraints?: PortfolioConstraintsInput | null;
  /** A LIVE OPTIMIZER-task model (slug or id) to compute the weights instead. */
  model?: string | null;
}

export interface PortfolioAnswer extends OptimizedPortfolio {
  asOf: Date;
  horizonDays: number;
  round: number;
  /** Per symbol, in order: how many LIVE models made its consensus. */
  models: number[];
  /** Who computed the weights. */
  method: string;
}

const BUILT_IN = 'built-in mean-variance (Ledoit-Wolf covariance, quadprog)';

/**
 * The built-in optimizer (OptimizerInference): each symbol's consensus as its signal, the open
 * round's daily closes for the covariance, and the pure optimizer module for the weights. A
 * symbol no LIVE model has a signal for enters with a neutral score and no confidence: its
 * expected return is 0, and it is held only where it lowers the risk.
 */
export class PortfolioService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly datasets: DatasetsService,
    private readonly consensus: ConsensusService,
  ) {}

  async optimize(principal: Principal | null, args: PortfolioArgs): Promise<PortfolioAnswer> {
    if (!principal) throw new DomainError('UNAUTHENTICATED', 'the optimizer needs an API key (mp login)');
    if (args.model && principal.role !== 'ADMIN') {
      throw new DomainError('FORBIDDEN', 'choosing an OPTIMIZER model needs an operator (admin) key: the model receives the consensus of every symbol');
    }
    const serving = args.model ? await liveModelOfTask(this.dataSource, args.model, 'OPTIMIZER', 'model') : null;
    const symbols = args.symbols.map((symbol) => symbol.trim());
    if (symbols.length < 1 || symbols.length > MAX_PORTFOLIO_SYMBOLS)
      throw badInput('symbols', `give 1 to ${MAX_PORTFOLIO_SYMBOLS} symbols (got ${symbols.length})`);
    const repeated = symbols.find((symbol, i) => symbols.indexOf(symbol) !== i);
    if (repeated) throw badInput('symbols', `${repeated} appears more than once`);
    const asOf = args.asOf ? new Date(args.asOf) : new Date();
    if (Number.isNaN(asOf.getTime())) throw badInput('asOf', 'must be an ISO 8601 date-time');

    const [round] = (await this.dataSource.query(`SELECT number, symbols FROM dataset_rounds WHERE status = 'OPEN' ORDER BY number DESC LIMIT 1`)) as {
      number: number;
      symbols: string[];
    }[];
    if (!round) throw new DomainError('PRECONDITION_FAILED', 'no dataset round is open, so there is no universe or price history to optimize over');
    const universe = new Set(round.symbols);
    const unknown = symbols.filter((symbol) => !universe.has(symbol));
    if (unknown.length > 0) {
      throw badInput(
        'symbols',
        `${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ` and ${unknown.length - 5} more are` : unknown.length > 1 ? ' are' : ' is'} not in round ${round.number}'s universe`,
      );
    }
    const closes = await this.datasets.closes(round.number);
    if (!closes) {
      throw new DomainError(
        'PRECONDITION_FAILED',
        `round ${round.number} was built before rounds kept their price history; the optimizer needs a round built since (mp-server rounds create)`,
      );
    }
    const prices = commonHistory(closes, symbols, asOf.toISOString().slice(0, 10));

    const consensus = await this.consensus.computeMany(principal, { symbols, asOf, horizonDays: args.horizonDays });
    const signals = consensus.map((answer) => ({
      symbol: answer.symbol,
      score: answer.score ?? 0.5,
      confidence: answer.models === 0 ? 0 : Math.min(1, Math.max(0, answer.contributors.length ? meanConfidence(answer.contributors) : 0.5)),
    }));
    const optimized = optimizePortfolio({ signals, prices, riskAversion: args.riskAversion, constraints: args.constraints ?? undefined });
    const answer = { ...optimized, asOf, horizonDays: consensus[0].horizonDays, round: round.number, models: consensus.map((c) => c.models), method: BUILT_IN };
    return serving ? this.byModel(serving, answer, prices) : answer;
  }

  /**
   * A vendor's OPTIMIZER deployment chooses the weights from the same signals (OptimizerInference);
   * their expected return and risk are measured here, with the built-in μ and covariance.
   */
  private async byModel(serving: ServingModel, answer: PortfolioAnswer, prices: PriceHistory): Promise<PortfolioAnswer> {
    const { constraints, expectedReturns } = answer.inputs;
    const signals = expectedReturns.symbols.map(({ symbol, score, confidence }) => ({ symbol, score, confidence }));
    const request = { asOf: answer.asOf.toISOString(), signals, maxWeight: constraints.maxWeight, allowShort: !constraints.longOnly };
    const response = await callModelEndpoint(serving, '/v1/optimize', request, OptimizerInferenceResponseSchema);
    const given = new Map(response.weights.map((weight) => [weight.symbol, weight.weight]));
    const symbols = signals.map((signal) => signal.symbol);
    if (given.size !== response.weights.length || response.weights.length !== symbols.length || symbols.some((symbol) => !given.has(symbol))) {
      throw new DomainError(
        'PRECONDITION_FAILED',
        `${serving.slug} answered weights for other symbols than it was asked (${symbols.length} asked, ${response.weights.length} answered)`,
      );
    }
    const weights = symbols.map((symbol) => given.get(symbol)!);
    const covariance = ledoitWolf(dailySimpleReturns(prices, symbols)).covariance;
    const expectedReturn = weights.reduce((sum, w, i) => sum + w * expectedReturns.symbols[i].expectedReturn, 0);
    const risk = Math.sqrt(Math.max(0, quadraticForm(covariance, weights)));
    return {
      ...answer,
      weights: symbols.map((symbol, i) => ({ symbol, weight: weights[i] })),
      expectedReturn,
      risk,
      annualized: { expectedReturn: expectedReturn * TRADING_DAYS_PER_YEAR, risk: risk * Math.sqrt(TRADING_DAYS_PER_YEAR) },
      method: `${serving.slug} (model ${response.modelVersion})`,
    };
  }
}

function meanConfidence(contributors: readonly { confidence: number; weight: number }[]): number {
  const weight = contributors.reduce((sum, c) => sum + c.weight, 0);
  return weight > 0 ? contributors.reduce((sum, c) => sum + c.weight * c.confidence, 0) / weight : 0;
}

/** The newest HISTORY_DAYS + 1 dates up to `until` on which every symbol has a close. */
function commonHistory(closes: RoundCloses, symbols: readonly string[], until: string): PriceHistory {
  const series = symbols.map((symbol) => closes.closes[symbol] ?? []);
  const kept: number[] = [];
  for (let k = closes.dates.length - 1; k >= 0 && kept.length < HISTORY_DAYS + 1; k -= 1) {
    if (closes.dates[k] > until) continue;
    if (series.every((values) => typeof values[k] === 'number')) kept.push(k);
  }
  kept.reverse();
  if (kept.length < 3) {
    throw new DomainError(
      'PRECONDITION_FAILED',
      `these symbols have ${kept.length} day(s) with a close for all of them up to ${until}; the covariance needs at least 3: drop the symbols with the shortest history`,
    );
  }
  return {
    dates: kept.map((k) => closes.dates[k]),
    closes: Object.fromEntries(symbols.map((symbol, i) => [symbol, kept.map((k) => series[i][k] as number)])),
  };
}
