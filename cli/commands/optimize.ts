import type { CommandModule } from 'yargs';
import { execute } from '../execute';
import type { GlobalArgs } from '../global-options';
import type { Io } from '../io';

export interface OptimizeArgs extends GlobalArgs {
  symbols: string[];
  /** Defaults to 10 (yargs fills it in). */
  riskAversion?: number;
  maxWeight?: number;
  longShort?: boolean;
  gross?: number;
  net?: number;
  asOf?: string;
  horizon?: number;
  model?: string;
}

const percent = (value: number): string => `${(value * 100).toFixed(2)}%`;

export async function run(args: OptimizeArgs, io: Io): Promise<void> {
  const { resolveSession, connect } = require('../session') as typeof import('../session');
  const { OptimizePortfolioDocument } = require('../../generated/cli-operations') as typeof import('../../generated/cli-operations');
  const { Output } = require('../output') as typeof import('../output');
  const { usageError } = require('../errors') as typeof import('../errors');
  const out = new Output(io, args);
  const symbols = args.symbols
    .flatMap((word) => String(word).split(','))
    .map((symbol) => symbol.trim())
    .filter(Boolean);
  if (symbols.length === 0) throw usageError('give at least one symbol, e.g. mp optimize SPX --max-weight 1');
  if (args.asOf !== undefined && Number.isNaN(Date.parse(args.asOf))) throw usageError(`--as-of must be an ISO 8601 date-time (got "${args.asOf}")`);
  if (!args.longShort && (args.gross !== undefined || args.net !== undefined))
    throw usageError('--gross and --net apply to a long/short portfolio: add --long-short');
  const client = connect(resolveSession(args, io.env), args, io, 'required');
  const { optimizePortfolio: portfolio } = await client.request(OptimizePortfolioDocument, {
    symbols,
    riskAversion: args.riskAversion ?? 10,
    ...(args.asOf === undefined ? {} : { asOf: new Date(args.asOf).toISOString() }),
    ...(args.horizon === undefined ? {} : { horizonDays: args.horizon }),
    ...(args.model === undefined ? {} : { model: args.model.trim() }),
    constraints: {
      longOnly: !args.longShort,
      ...(args.maxWeight === undefined ? {} : { maxWeight: args.maxWeight }),
      ...(args.gross === undefined ? {} : { grossLeverage: args.gross }),
      ...(args.net === undefined ? {} : { netExposure: args.net }),
    },
  });
  if (out.json) {
    out.data(portfolio);
    return;
  }
  const { inputs } = portfolio;
  const bySymbol = new Map(inputs.symbols.map((symbol) => [symbol.symbol, symbol]));
  out.table(
    [
      { header: 'symbol', value: (w) => w.symbol, style: () => 'cyan' },
      { header: 'weight', value: (w) => percent(w.weight), style: (w) => (w.weight < 0 ? 'red' : undefined) },
      { header: 'consensus', value: (w) => bySymbol.get(w.symbol)!.score.toFixed(4) },
      { header: 'models', value: (w) => String(bySymbol.get(w.symbol)!.models) },
      { header: 'vol (daily)', value: (w) => percent(bySymbol.get(w.symbol)!.volatility) },
    ],
    portfolio.weights,
  );
  const { constraints } = inputs;
  out.keyValue([
    ['Expected return', `${percent(portfolio.annualizedExpectedReturn)} a year (${percent(portfolio.expectedReturn)} a day)`],
    ['Risk', `${percent(portfolio.annualizedRisk)} a year (${percent(portfolio.risk)} a day)`],
    [
      'Constraints',
      constraints.longOnly
        ? `long only, at most ${percent(constraints.maxWeight)} each`
        : `long/short, at most ${percent(constraints.maxWeight)} each, gross ${constraints.grossLeverage}, net ${constraints.netExposure ?? 'free'}`,
    ],
    [
      'History',
      `round ${inputs.round}, ${inputs.historyFrom} to ${inputs.historyTo} (${inputs.returns} daily returns, Ledoit-Wolf shrinkage ${inputs.shrinkage.toFixed(3)})`,
    ],
    ['Consensus', `as of ${portfolio.asOf}, ${portfolio.horizonDays}-day horizon`],
    ['Weights by', portfolio.method],
  ]);
}

const optimizeCommand: CommandModule<GlobalArgs, OptimizeArgs> = {
  command: 'optimize <symbols..>',
  describe: "Portfolio weights from the consensus: mean-variance on the open round's price history",
  builder: (yargs) =>
    yargs
      .positional('symbols', { type: 'string', array: true, demandOption: true, describe: 'Symbols of the open round (space or comma separated)' })
      .option('risk-aversion', { type: 'number', default: 10, requiresArg: true, describe: 'λ > 0: higher holds less risk' })
      .option('max-weight', { type: 'number', requiresArg: true, describe: 'The largest weight of one symbol, 0 to 1 (default 0.1)' })
      .option('long-short', { type: 'boolean', default: false, describe: 'Allow short positions (dollar-neutral unless --net)' })
      .option('gross', { type: 'number', requiresArg: true, describe: 'Long/short: the largest sum of absolute weights (default 1)' })
      .option('net', { type: 'number', requiresArg: true, describe: 'Long/short: the sum of the weights (default 0)' })
      .option('as-of', { type: 'string', requiresArg: true, describe: 'The consensus at this ISO 8601 time (default now)' })
      .option('horizon', { type: 'number', requiresArg: true, describe: 'The horizon in days (default 5)' })
      .option('model', { type: 'string', requiresArg: true, describe: 'A LIVE optimizer model (slug) to choose the weights instead (admins)' })
      .example('$0 optimize SPX --max-weight 1', 'The one-index demo round: all in SPX')
      .example('$0 optimize AAPL MSFT GOOG --long-short --gross 2 --json', 'Long/short, as JSON'),
  handler: (args) => execute(args, run),
};

export default optimizeCommand;
