import type { CommandModule } from 'yargs';
import type { LeaderboardShowQuery } from '../../generated/cli-operations';
import { LeaderboardSort } from '../../generated/schema-types';
import { enumChoices, toEnum } from '../enum-choices';
import { execute } from '../execute';
import { MAX_LIMIT, parseLimit } from '../flag-parsers';
import type { GlobalArgs } from '../global-options';
import type { Io } from '../io';

export interface LeaderboardArgs extends GlobalArgs {
  round?: number;
  sort: string;
  limit: number;
}

type Board = NonNullable<LeaderboardShowQuery['leaderboard']>;
type Entry = Board['nodes'][number];

export async function run(args: LeaderboardArgs, io: Io): Promise<void> {
  const { resolveSession, connect } = require('../session') as typeof import('../session');
  const { LeaderboardShowDocument } = require('../../generated/cli-operations') as typeof import('../../generated/cli-operations');
  const { Output } = require('../output') as typeof import('../output');
  const { usageError } = require('../errors') as typeof import('../errors');
  const { corrName, formatScore, seriesDates } = require('../score-format') as typeof import('../score-format');
  const out = new Output(io, args);
  if (args.round !== undefined && (!Number.isInteger(args.round) || args.round < 1)) throw usageError(`--round must be a round number (got ${args.round})`);
  const client = connect(resolveSession(args, io.env), args, io, 'none');
  const sort = toEnum(LeaderboardSort, args.sort);
  const entries: Entry[] = [];
  let board: Board | null = null;
  let after: string | null = null;
  while (entries.length < args.limit) {
    const { leaderboard }: LeaderboardShowQuery = await client.request(LeaderboardShowDocument, {
      round: args.round,
      sort,
      first: args.limit - entries.length,
      after,
    });
    if (!leaderboard) break;
    board = leaderboard;
    entries.push(...leaderboard.nodes);
    if (!leaderboard.pageInfo.hasNextPage || !leaderboard.pageInfo.endCursor || leaderboard.nodes.length === 0) break;
    after = leaderboard.pageInfo.endCursor;
  }
  if (out.json) {
    out.data(board ? { ...board, nodes: entries } : null);
    return;
  }
  if (!board) {
    out.status('No round has been scored yet: a round is scored when the operator resolves it (mp-server rounds resolve).');
    return;
  }
  out.line(out.paint('bold', `Round ${board.round} leaderboard`) + out.paint('dim', `: ${board.label}`));
  if (entries.length === 0) {
    out.status('No published model has scores in this round.');
    return;
  }
  const crossSectional = board.method === 'CROSS_SECTIONAL';
  const corr = corrName(board);
  out.table(
    [
      { header: 'rank', value: (e) => String(e.rank) },
      { header: 'model', value: (e) => e.model.slug, style: () => 'cyan' },
      { header: corr, value: (e) => formatScore(e.scores.corr.mean) },
      ...(crossSectional
        ? [
            { header: `${corr}_sharpe`, value: (e: Entry) => formatScore(e.scores.corr.sharpe) },
            { header: 'mmc', value: (e: Entry) => formatScore(e.scores.mmc?.mean) },
            { header: 'fnc', value: (e: Entry) => formatScore(e.scores.fnc?.mean) },
            { header: 'dates', value: (e: Entry) => String(e.scores.scored) },
          ]
        : [
            { header: 'symbols', value: (e: Entry) => String(e.scores.scored) },
            { header: 'dates', value: (e: Entry) => String(seriesDates(e.scores)) },
          ]),
      { header: 'status', value: (e) => e.model.liveStatus.toLowerCase(), style: (e) => (e.model.liveStatus === 'LIVE' ? 'green' : 'dim') },
    ],
    entries,
  );
  if (board.consensus) {
    const sharpe = crossSectional ? `, sharpe ${formatScore(board.consensus.corr.sharpe)}` : '';
    out.status(out.paintErr('dim', `Consensus of the models: ${corr} ${formatScore(board.consensus.corr.mean)}${sharpe}.`));
  }
  if (board.totalCount > entries.length)
    out.status(out.paintErr('dim', `Showing ${entries.length} of ${board.totalCount}; use --limit (up to ${MAX_LIMIT}) to see more.`));
}

const leaderboardCommand: CommandModule<GlobalArgs, LeaderboardArgs> = {
  command: 'leaderboard',
  describe: "A resolved round's models ranked by their scores",
  builder: (yargs) =>
    yargs
      .option('round', { type: 'number', requiresArg: true, describe: 'The round (default: the newest scored one)' })
      .option('sort', { type: 'string', choices: enumChoices(LeaderboardSort), default: 'corr', requiresArg: true, describe: 'Rank by this score' })
      .option('limit', { type: 'number', default: 20, requiresArg: true, describe: `How many (1 to ${MAX_LIMIT})`, coerce: parseLimit })
      .example('$0 leaderboard', 'The newest scored round')
      .example('$0 leaderboard --round 2 --sort mmc --json', 'One round by MMC, as JSON'),
  handler: (args) => execute(args, run),
};

export default leaderboardCommand;
