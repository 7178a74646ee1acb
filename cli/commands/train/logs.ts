import type { CommandModule } from 'yargs';
import type { TrainLogsQuery } from '../../../generated/cli-operations';
import { execute } from '../../execute';
import type { GlobalArgs } from '../../global-options';
import type { Io } from '../../io';
import { parseCount } from '../../flag-parsers';
import type { FollowOptions } from './follow';

export interface TrainLogsArgs extends GlobalArgs {
  run_id: string;
  follow: boolean;
  /** Only lines after this seq. */
  after?: number;
  /** Only the last N lines (then, with -f, everything new). */
  tail?: number;
}

export type TrainLogsOptions = FollowOptions;

/** Lines per trainingLogs page (the API allows 1 to 1000). */
export const PAGE_SIZE = 500;

/** Where printing starts: after --after, and no earlier than the last --tail lines (seqs are 1, 2, 3...). */
export function startSeq(logLineCount: number, after: number | undefined, tail: number | undefined): number {
  const from = after ?? 0;
  return tail === undefined ? from : Math.max(from, logLineCount - tail);
}

export async function run(args: TrainLogsArgs, io: Io, options: TrainLogsOptions = {}): Promise<void> {
  const { resolveSession, connect, subscriptionTarget } = require('../../session') as typeof import('../../session');
  const operations = require('../../../generated/cli-operations') as typeof import('../../../generated/cli-operations');
  const { Output } = require('../../output') as typeof import('../../output');
  const { withRunHint } = require('./run-display') as typeof import('./run-display');
  const { isActive } = require('./flags') as typeof import('./flags');
  const { formatLogLine, watchStdoutClosed } = require('./follow') as typeof import('./follow');
  const out = new Output(io, args);
  const session = resolveSession(args, io.env);
  const client = connect(session, args, io, 'required');
  const runId = args.run_id.trim();

  // One small query first: an unknown run is exit 4 at once, and --tail needs the line count.
  const { trainingRun: brief } = await client.request(operations.TrainRunBriefDocument, { id: runId }).catch((error: unknown) => {
    throw withRunHint(error);
  });
  const afterSeq = startSeq(brief.logLineCount, args.after, args.tail);

  if (args.follow) {
    const { followToOutcome } = require('./follow') as typeof import('./follow');
    if (!out.json) out.status(out.paintErr('dim', `Following run ${runId} (${brief.status}); Ctrl-C stops following, not the run.`));
    await followToOutcome(client, { runId, afterSeq }, { target: subscriptionTarget(session, args, io), io, out }, options);
    return;
  }

  const terminal = io.stdout.isTTY === true;
  let after = afterSeq;
  let printed = 0;
  const limit = args.tail ?? Infinity;
  // `mp train logs <id> | head`: stop paging once the reader is gone.
  const stdoutClosed = watchStdoutClosed(io);
  try {
    await printStored();
  } finally {
    stdoutClosed.release();
  }
  if (stdoutClosed.signal.aborted) return;
  if (printed === 0) out.status(brief.logLineCount === 0 ? `Run ${runId} has no log lines yet.` : 'No log lines after that point.');
  if (isActive(brief.status)) {
    out.status(out.paintErr('dim', `Run ${runId} is ${brief.status}; follow it live with: mp train logs ${runId} -f`));
  }

  async function printStored(): Promise<void> {
    for (;;) {
      const { trainingLogs }: TrainLogsQuery = await client.request(operations.TrainLogsDocument, {
        runId,
        after,
        first: PAGE_SIZE,
      });
      for (const line of trainingLogs.lines) {
        if (printed >= limit || stdoutClosed.signal.aborted) return;
        io.stdout.write(formatLogLine(line, out.json, terminal));
        printed += 1;
      }
      const next = Math.max(after, trainingLogs.lastSeq, ...trainingLogs.lines.map((line) => line.seq));
      if (!trainingLogs.hasMore || trainingLogs.lines.length === 0 || printed >= limit || next <= after) return;
      after = next;
    }
  }
}

const trainLogsCommand: CommandModule<GlobalArgs, TrainLogsArgs> = {
  command: 'logs <run_id>',
  describe: "A run's log; with -f, follow it live and exit with the run's outcome (0, or 7 if it failed)",
  builder: (yargs) =>
    yargs
      .positional('run_id', { type: 'string', demandOption: true, describe: 'The run id (from `mp train start` or `mp train status`)' })
      .option('follow', {
        alias: 'f',
        type: 'boolean',
        default: false,
        describe: 'Stream new lines until the run ends (reconnects by itself); Ctrl-C stops following, not the run',
      })
      .option('after', { type: 'string', requiresArg: true, describe: 'Only lines after this sequence number', coerce: parseCount('--after', 0) })
      .option('tail', { type: 'string', requiresArg: true, describe: 'Only the last N lines (with -f: then follow)', coerce: parseCount('--tail', 1) })
      .example('$0 train logs trn_2Xf9...', 'Everything stored so far')
      .example('$0 train logs trn_2Xf9... -f', 'Replay, then follow live; exit 0 if it succeeds, 7 otherwise')
      .example('$0 train logs trn_2Xf9... --tail 20 --json', 'The last 20 lines as JSON lines (seq, at, stream, line)'),
  handler: (args) => execute(args, run),
};

export default trainLogsCommand;
