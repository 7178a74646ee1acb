import type { CommandModule } from 'yargs';
import type { SignalsListQuery } from '../../../generated/cli-operations';
import { execute } from '../../execute';
import type { GlobalArgs } from '../../global-options';
import type { Io } from '../../io';
import type { Column } from '../../output';
import { MAX_LIMIT, parseLimit } from '../../flag-parsers';

export interface SignalsListArgs extends GlobalArgs {
  symbol?: string;
  model?: string;
  deployment?: string;
  vendor?: string;
  limit: number;
}

type SignalRow = SignalsListQuery['signals']['nodes'][number];

export async function run(args: SignalsListArgs, io: Io): Promise<void> {
  const { resolveSession, connect } = require('../../session') as typeof import('../../session');
  const { SignalsListDocument } = require('../../../generated/cli-operations') as typeof import('../../../generated/cli-operations');
  const { Output } = require('../../output') as typeof import('../../output');
  const out = new Output(io, args);
  const client = connect(resolveSession(args, io.env), args, io, 'required');
  const filter = { symbol: args.symbol, model: args.model, deployment: args.deployment, vendor: args.vendor };
  const signals: SignalRow[] = [];
  let after: string | null = null;
  let more = false;
  while (signals.length < args.limit) {
    const { signals: page }: SignalsListQuery = await client.request(SignalsListDocument, { filter, first: args.limit - signals.length, after });
    signals.push(...page.nodes);
    more = page.pageInfo.hasNextPage;
    if (!more || !page.pageInfo.endCursor || page.nodes.length === 0) break;
    after = page.pageInfo.endCursor;
  }
  if (out.json) {
    out.data(signals);
    return;
  }
  if (signals.length === 0) {
    out.status('No signals match.');
    return;
  }
  const columns: Column<SignalRow>[] = [
    { header: 'symbol', value: (s) => s.symbol, style: () => 'cyan' },
    { header: 'asOf', value: (s) => s.asOf },
    { header: 'horizon', value: (s) => `${s.horizonDays}d` },
    { header: 'score', value: (s) => s.score.toFixed(4) },
    { header: 'confidence', value: (s) => s.confidence.toFixed(4) },
    { header: 'model', value: (s) => s.modelId ?? '-' },
    { header: 'deployment', value: (s) => s.deploymentId ?? 'upload' },
    { header: 'round', value: (s) => String(s.round) },
  ];
  out.table(columns, signals);
  if (more) out.status(out.paintErr('dim', `Showing the newest ${signals.length}; use --limit (up to ${MAX_LIMIT}) or filters to see others.`));
}

const signalsListCommand: CommandModule<GlobalArgs, SignalsListArgs> = {
  command: 'list',
  aliases: ['ls'],
  describe: 'List stored signals, newest asOf first',
  builder: (yargs) =>
    yargs
      .option('symbol', { type: 'string', requiresArg: true, describe: 'Only this symbol' })
      .option('model', { type: 'string', requiresArg: true, describe: "Only this catalog model's (mdl_...)" })
      .option('deployment', { type: 'string', requiresArg: true, describe: "Only this deployment's" })
      .option('vendor', { type: 'string', requiresArg: true, describe: "Only this vendor's (admins only)" })
      .option('limit', { type: 'number', default: 20, requiresArg: true, describe: `How many (1 to ${MAX_LIMIT})`, coerce: parseLimit })
      .example('$0 signals list --symbol SPX --limit 50', 'The newest 50 for SPX')
      .example('$0 signals ls --deployment dep_4gZu... --json', "One deployment's, as JSON"),
  handler: (args) => execute(args, run),
};

export default signalsListCommand;
