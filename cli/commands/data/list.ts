import type { CommandModule } from 'yargs';
import type { DataRoundsQuery } from '../../../generated/cli-operations';
import { DatasetRoundStatus } from '../../../generated/schema-types';
import { enumChoices, toEnum } from '../../enum-choices';
import { execute } from '../../execute';
import type { GlobalArgs } from '../../global-options';
import type { Io } from '../../io';
import type { Column, Style } from '../../output';

export const STATUSES = enumChoices(DatasetRoundStatus);

export interface DataListArgs extends GlobalArgs {
  status?: Lowercase<DatasetRoundStatus>;
}

type RoundRow = DataRoundsQuery['rounds']['nodes'][number];

export const STATUS_STYLE: Record<DatasetRoundStatus, Style> = {
  UPCOMING: 'yellow',
  OPEN: 'green',
  CLOSED: 'dim',
  RESOLVED: 'cyan',
};

export async function run(args: DataListArgs, io: Io): Promise<void> {
  const { resolveSession, connect } = require('../../session') as typeof import('../../session');
  const { DataRoundsDocument } = require('../../../generated/cli-operations') as typeof import('../../../generated/cli-operations');
  const { Output } = require('../../output') as typeof import('../../output');
  const { formatDate } = require('../../format') as typeof import('../../format');
  const { formatBytes } = require('../../format') as typeof import('../../format');
  const out = new Output(io, args);
  const session = resolveSession(args, io.env);
  // Rounds are public; a key is sent when there is one (admins also see UPCOMING rounds).
  const client = connect(session, args, io, session.apiKey ? 'required' : 'none');

  const rounds: RoundRow[] = [];
  let after: string | null = null;
  for (;;) {
    const { rounds: page }: DataRoundsQuery = await client.request(DataRoundsDocument, {
      status: args.status ? toEnum(DatasetRoundStatus, args.status) : null,
      first: 100,
      after,
    });
    rounds.push(...page.nodes);
    if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor || page.nodes.length === 0) break;
    after = page.pageInfo.endCursor;
  }

  if (out.json) {
    out.data(rounds);
    return;
  }
  if (rounds.length === 0) {
    out.status(args.status ? `No ${args.status} rounds.` : 'No rounds yet.');
    return;
  }
  const totalSize = (round: RoundRow) => round.files.reduce((sum, file) => sum + file.sizeBytes, 0);
  const columns: Column<RoundRow>[] = [
    { header: 'round', value: (r) => String(r.number) },
    { header: 'name', value: (r) => r.name },
    { header: 'status', value: (r) => r.status.toLowerCase(), style: (r) => STATUS_STYLE[r.status] },
    { header: 'opens', value: (r) => formatDate(r.opensAt) },
    { header: 'closes', value: (r) => formatDate(r.closesAt) },
    { header: 'horizon', value: (r) => `${r.horizonDays}d` },
    { header: 'symbols', value: (r) => String(r.symbols.length) },
    { header: 'files', value: (r) => `${r.files.length} (${formatBytes(totalSize(r))})` },
  ];
  out.table(columns, rounds);
}

const dataListCommand: CommandModule<GlobalArgs, DataListArgs> = {
  command: 'list',
  aliases: ['ls'],
  describe: 'List dataset rounds, newest first (no API key needed)',
  builder: (yargs) =>
    yargs
      .option('status', { choices: STATUSES, describe: 'Only rounds in this status' })
      .example('$0 data list', 'Every round')
      .example('$0 data list --status open --json', 'Open rounds, as JSON'),
  handler: (args) => execute(args, run),
};

export default dataListCommand;
