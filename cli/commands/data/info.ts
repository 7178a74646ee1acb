import type { CommandModule } from 'yargs';
import type { DataRoundQuery } from '../../../generated/cli-operations';
import { execute } from '../../execute';
import type { GlobalArgs } from '../../global-options';
import type { Io } from '../../io';
import type { Column } from '../../output';
import { roundOption } from './flags';
import type { RoundRef } from '../../flag-parsers';

export interface DataInfoArgs extends GlobalArgs {
  round: RoundRef;
}

type Round = DataRoundQuery['round'];
type FileRow = Round['files'][number];
type SplitRow = Round['splits'][number];

/** "SPX" or "AAPL, MSFT, ... (503 symbols)". */
export function formatSymbols(symbols: readonly string[], shown = 10): string {
  if (symbols.length === 0) return '-';
  if (symbols.length <= shown) return symbols.join(', ');
  return `${symbols.slice(0, shown).join(', ')}, … (${symbols.length} symbols)`;
}

export async function run(args: DataInfoArgs, io: Io): Promise<void> {
  const { resolveSession, connect } = require('../../session') as typeof import('../../session');
  const operations = require('../../../generated/cli-operations') as typeof import('../../../generated/cli-operations');
  const { Output } = require('../../output') as typeof import('../../output');
  const { formatDateTime } = require('../../format') as typeof import('../../format');
  const { formatBytes } = require('../../format') as typeof import('../../format');
  const { STATUS_STYLE } = require('./list') as typeof import('./list');
  const { noOpenRound, kindLabel, shortSha, roundTitle } = require('./round-display') as typeof import('./round-display');
  const out = new Output(io, args);
  const session = resolveSession(args, io.env);
  const client = connect(session, args, io, session.apiKey ? 'required' : 'none');

  let round: Round;
  if (args.round === 'current') {
    const { currentRound } = await client.request(operations.DataCurrentRoundDocument, {});
    if (!currentRound) throw noOpenRound();
    round = currentRound;
  } else {
    ({ round } = await client.request(operations.DataRoundDocument, { number: args.round }));
  }

  if (out.json) {
    out.data(round);
    return;
  }
  out.line(out.paint('bold', roundTitle(round)));
  out.keyValue([
    ['Status', out.paint(STATUS_STYLE[round.status], round.status.toLowerCase())],
    ['Opens', formatDateTime(round.opensAt)],
    ['Closes', formatDateTime(round.closesAt)],
    ['Resolves', formatDateTime(round.resolvesAt)],
    ['Symbols', formatSymbols(round.symbols)],
    ['Horizon', `${round.horizonDays} trading day${round.horizonDays === 1 ? '' : 's'}`],
    ['Features', round.featureNames.length ? `${round.featureNames.length}: ${round.featureNames.join(', ')}` : '-'],
  ]);
  if (round.description.trim()) out.line(`\n${round.description.trim()}`);

  if (round.splits.length > 0) {
    out.line('');
    const splitColumns: Column<SplitRow>[] = [
      { header: 'split', value: (s) => kindLabel(s.kind) },
      { header: 'first date', value: (s) => s.firstDate },
      { header: 'last date', value: (s) => s.lastDate },
    ];
    out.table(splitColumns, round.splits);
  }
  out.line('');
  if (round.files.length === 0) {
    out.line('No files yet.');
    return;
  }
  const fileColumns: Column<FileRow>[] = [
    { header: 'file', value: (f) => f.name, style: () => 'cyan' },
    { header: 'kind', value: (f) => kindLabel(f.kind) },
    { header: 'rows', value: (f) => f.rowCount.toLocaleString('en-US') },
    { header: 'size', value: (f) => formatBytes(f.sizeBytes) },
    { header: 'sha256', value: (f) => shortSha(f.sha256) },
  ];
  out.table(fileColumns, round.files);
}

const dataInfoCommand: CommandModule<GlobalArgs, DataInfoArgs> = {
  command: 'info',
  describe: 'Show a round: dates, symbols, splits, feature names and files (no API key needed)',
  builder: (yargs) =>
    yargs
      .option('round', roundOption)
      .example('$0 data info', 'The current (newest open) round')
      .example('$0 data info --round 3 --json', 'Round 3, everything, as JSON'),
  handler: (args) => execute(args, run),
};

export default dataInfoCommand;
