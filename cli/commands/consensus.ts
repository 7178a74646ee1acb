import type { CommandModule } from 'yargs';
import { execute } from '../execute';
import type { GlobalArgs } from '../global-options';
import type { Io } from '../io';

export interface ConsensusArgs extends GlobalArgs {
  symbol: string;
  asOf?: string;
  horizon?: number;
  model?: string;
}

export async function run(args: ConsensusArgs, io: Io): Promise<void> {
  const { resolveSession, connect } = require('../session') as typeof import('../session');
  const { ConsensusShowDocument } = require('../../generated/cli-operations') as typeof import('../../generated/cli-operations');
  const { Output } = require('../output') as typeof import('../output');
  const { usageError } = require('../errors') as typeof import('../errors');
  const out = new Output(io, args);
  if (args.asOf !== undefined && Number.isNaN(Date.parse(args.asOf))) throw usageError(`--as-of must be an ISO 8601 date-time (got "${args.asOf}")`);
  const client = connect(resolveSession(args, io.env), args, io, 'required');
  const { consensus } = await client.request(ConsensusShowDocument, {
    symbol: args.symbol,
    ...(args.asOf === undefined ? {} : { asOf: new Date(args.asOf).toISOString() }),
    ...(args.horizon === undefined ? {} : { horizonDays: args.horizon }),
    ...(args.model === undefined ? {} : { model: args.model.trim() }),
  });
  if (out.json) {
    out.data(consensus);
    return;
  }
  if (consensus.score === null) {
    out.status(`No LIVE model has a signal for ${consensus.symbol} (${consensus.horizonDays}-day horizon) in the 7 days up to ${consensus.asOf}.`);
    return;
  }
  out.keyValue([
    ['Symbol', `${consensus.symbol}, ${consensus.horizonDays}-day horizon, as of ${consensus.asOf}`],
    ['Consensus', consensus.score.toFixed(4) + (consensus.confidence === null ? '' : ` (confidence ${consensus.confidence.toFixed(4)})`)],
    ['Dispersion', (consensus.dispersion ?? 0).toFixed(4)],
    ['Models', `${consensus.models} (${consensus.method})`],
  ]);
  if (consensus.contributors.length > 0) {
    out.table(
      [
        { header: 'model', value: (c) => c.model.slug, style: () => 'cyan' },
        { header: 'score', value: (c) => c.score.toFixed(4) },
        { header: 'weight', value: (c) => c.weight.toFixed(4) },
        { header: 'asOf', value: (c) => c.asOf },
      ],
      consensus.contributors,
    );
  }
}

const consensusCommand: CommandModule<GlobalArgs, ConsensusArgs> = {
  command: 'consensus <symbol>',
  describe: "The LIVE models' combined signal for a symbol",
  builder: (yargs) =>
    yargs
      .positional('symbol', { type: 'string', demandOption: true, describe: 'The symbol, as in the round (SPX)' })
      .option('as-of', { type: 'string', requiresArg: true, describe: 'As of this ISO 8601 time (default now)' })
      .option('horizon', { type: 'number', requiresArg: true, describe: 'The horizon in days (default 5)' })
      .option('model', { type: 'string', requiresArg: true, describe: 'A LIVE consensus model (slug) to combine the signals instead (admins)' })
      .example('$0 consensus SPX', 'Now, 5-day horizon')
      .example('$0 consensus SPX --as-of 2026-11-30T21:00:00Z --json', 'At a time, as JSON'),
  handler: (args) => execute(args, run),
};

export default consensusCommand;
