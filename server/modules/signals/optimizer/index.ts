/**
 * The portfolio optimizer, pure math (no database, no GraphQL): consensus signals and a price
 * history in, mean-variance weights out. `optimizePortfolio` is the whole pipeline; the steps
 * are exported for callers that hold some of them already (and for the tests and benchmark).
 */
import type { OptimizerSignalInput, PortfolioWeight } from '../../../../generated/contracts';
import { badInput } from '../../../domain-error';
import { resolveConstraints, type PortfolioConstraints, type PortfolioConstraintsInput } from './constraints';
import { DEFAULT_INFORMATION_COEFFICIENT, expectedReturnsFromScores } from './expected-returns';
import { ledoitWolf } from './ledoit-wolf';
import { optimizeMeanVariance } from './mean-variance';
import { quadprogSolver, type QpSolver } from './qp-solver';
import { dailySimpleReturns, type PriceHistory } from './returns';

export * from './constraints';
export * from './covariance';
export * from './expected-returns';
export * from './ledoit-wolf';
export * from './mean-variance';
export * from './qp-solver';
export * from './returns';

/** Trading days in a year, to annualise daily figures. */
export const TRADING_DAYS_PER_YEAR = 252;

export interface OptimizePortfolioInput {
  /** One consensus signal per symbol (the OptimizerInference contract's signals). */
  readonly signals: readonly OptimizerSignalInput[];
  /** Daily closes of at least the signals' symbols, on common dates. */
  readonly prices: PriceHistory;
  readonly riskAversion: number;
  readonly constraints?: PortfolioConstraintsInput;
  /** The IC in Grinold's alpha = IC × volatility × score (default 0.05). */
  readonly informationCoefficient?: number;
}

/** What one symbol contributed, as used. */
export interface OptimizerSymbolInput {
  readonly symbol: string;
  readonly score: number;
  readonly confidence: number;
  /** Daily, from the sample variance. */
  readonly volatility: number;
  /** Daily. */
  readonly expectedReturn: number;
}

export interface OptimizerInputsUsed {
  readonly riskAversion: number;
  readonly constraints: PortfolioConstraints;
  readonly history: { readonly firstDate: string; readonly lastDate: string; readonly returns: number; readonly returnType: 'daily simple returns' };
  readonly covariance: { readonly method: string; readonly shrinkage: number; readonly targetVariance: number };
  readonly expectedReturns: { readonly method: string; readonly informationCoefficient: number; readonly symbols: OptimizerSymbolInput[] };
  readonly solver: { readonly name: string; readonly rounds: number; readonly workingSetSize: number; readonly iterations: number };
}

export interface OptimizedPortfolio {
  /** In the order of the signals. */
  readonly weights: PortfolioWeight[];
  /** Daily: w·μ. */
  readonly expectedReturn: number;
  /** Daily volatility: √(wᵀΣw). */
  readonly risk: number;
  /** × 252 and × √252. */
  readonly annualized: { readonly expectedReturn: number; readonly risk: number };
  readonly inputs: OptimizerInputsUsed;
}

/**
 * Consensus signals to portfolio weights: daily simple returns of the price history, their
 * Ledoit-Wolf covariance, Grinold expected returns from the scores, and the mean-variance
 * optimum under the constraints. Bad values are BAD_USER_INPUT naming the field; constraints
 * no portfolio can meet, and missing or unusable price history, are PRECONDITION_FAILED
 * saying which and how to fix it.
 */
export function optimizePortfolio(input: OptimizePortfolioInput, solver: QpSolver = quadprogSolver): OptimizedPortfolio {
  const { signals, prices, riskAversion } = input;
  validateSignals(signals);
  if (!Number.isFinite(riskAversion) || riskAversion <= 0) throw badInput('riskAversion', `must be a positive number, got ${riskAversion}`);
  const informationCoefficient = input.informationCoefficient ?? DEFAULT_INFORMATION_COEFFICIENT;
  if (!Number.isFinite(informationCoefficient) || informationCoefficient <= 0) {
    throw badInput('informationCoefficient', `must be a positive number, got ${informationCoefficient}`);
  }
  const constraints = resolveConstraints(input.constraints);
  const symbols = signals.map((signal) => signal.symbol);

  const returns = dailySimpleReturns(prices, symbols);
  const shrunk = ledoitWolf(returns);
  const volatilities = shrunk.sampleVariances.map(Math.sqrt);
  const mu = expectedReturnsFromScores({
    scores: signals.map((signal) => signal.score),
    confidences: signals.map((signal) => signal.confidence),
    volatilities,
    informationCoefficient,
  });
  const solution = optimizeMeanVariance({ expectedReturns: mu, covariance: shrunk.covariance, riskAversion, constraints }, solver);

  return {
    // `+ 0` turns the -0 of an unheld short side into 0.
    weights: symbols.map((symbol, i) => ({ symbol, weight: solution.weights[i] + 0 })),
    expectedReturn: solution.expectedReturn,
    risk: solution.risk,
    annualized: { expectedReturn: solution.expectedReturn * TRADING_DAYS_PER_YEAR, risk: solution.risk * Math.sqrt(TRADING_DAYS_PER_YEAR) },
    inputs: {
      riskAversion,
      constraints,
      history: {
        firstDate: prices.dates[0],
        lastDate: prices.dates[prices.dates.length - 1],
        returns: returns.observations,
        returnType: 'daily simple returns',
      },
      covariance: { method: 'Ledoit-Wolf (2004) shrinkage toward a scaled identity', shrinkage: shrunk.shrinkage, targetVariance: shrunk.target },
      expectedReturns: {
        method: 'Grinold: IC × daily volatility × standardized rank of the score × confidence',
        informationCoefficient,
        symbols: signals.map((signal, i) => ({ ...pick(signal), volatility: volatilities[i], expectedReturn: mu[i] })),
      },
      solver: {
        name: solver.name,
        rounds: solution.diagnostics.rounds,
        workingSetSize: solution.diagnostics.workingSetSize,
        iterations: solution.diagnostics.solverIterations,
      },
    },
  };
}

function pick({ symbol, score, confidence }: OptimizerSignalInput): Pick<OptimizerSymbolInput, 'symbol' | 'score' | 'confidence'> {
  return { symbol, score, confidence };
}

function validateSignals(signals: readonly OptimizerSignalInput[]): void {
  if (signals.length === 0) throw badInput('signals', 'give at least one signal');
  const seen = new Set<string>();
  signals.forEach((signal, i) => {
    if (seen.has(signal.symbol)) throw badInput(`signals[${i}].symbol`, `${signal.symbol} appears more than once; give one signal per symbol`);
    seen.add(signal.symbol);
    for (const field of ['score', 'confidence'] as const) {
      const value = signal[field];
      if (!Number.isFinite(value) || value < 0 || value > 1) throw badInput(`signals[${i}].${field}`, `must be a number in [0, 1], got ${value}`);
    }
  });
}
