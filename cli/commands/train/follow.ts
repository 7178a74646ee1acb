// `mp train logs -f` and `mp train start --follow`: replay, then follow a run's log over the
// trainingLogs subscription, surviving dropped connections. Not a command itself; required
// lazily by the commands' run().
import type { TrainingRunStatus, TrainLogsFollowSubscription } from '../../../generated/cli-operations';
import type { GraphQLClient } from '../../client';
import { CliError, ExitCode, cliErrorFromGraphQL } from '../../errors';
import type { Io } from '../../io';
import type { Output } from '../../output';
import { describeEnd, isFatalCloseCode, subscribeOnce } from '../../subscribe';
import type { SubscriptionEnd, SubscriptionTarget } from '../../subscribe';
import { failureMessage, sanitizeForTerminal } from './run-display';

/** A TrainingLogLine as the CLI selects it (the stored pages and the live events select the same fields). */
export type LogLine = TrainLogsFollowSubscription['trainingLogs']['lines'][number];

/** One stored or live line on stdout: the text, or with --json one JSON object per line. */
export function formatLogLine(line: LogLine, json: boolean, terminal: boolean): string {
  if (json) return `${JSON.stringify({ seq: line.seq, at: line.at, stream: line.stream, line: line.line })}\n`;
  return `${terminal ? sanitizeForTerminal(line.line) : line.line}\n`;
}

export interface RetryPolicy {
  /** Reconnection attempts in a row without progress before giving up (exit 6). */
  maxAttempts: number;
  /** The wait before attempt `attempt` (1, 2, ...). */
  delayMs: (attempt: number) => number;
}

/** 0.5 s, 1 s, 2 s, 4 s, 8 s, then every 10 s, with ±20 % jitter; 10 attempts (about a minute). */
export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 10,
  delayMs: (attempt) => Math.min(10_000, 500 * 2 ** (attempt - 1)) * (0.8 + Math.random() * 0.4),
};

/** A connection that lasted this long, or delivered anything, counts as progress: the attempt counter restarts. */
const HEALTHY_CONNECTION_MS = 10_000;

export interface FollowParams {
  runId: string;
  /** Print lines after this seq (0: from the start). */
  afterSeq: number;
  target: SubscriptionTarget;
  io: Io;
  out: Output;
  json: boolean;
  /** Aborted on Ctrl-C. */
  signal: AbortSignal;
  retry?: RetryPolicy;
  keepAliveMs?: number;
}

export interface FollowResult {
  /** Null when following ended because stdout was closed (`mp train logs -f | head`). */
  finalStatus: TrainingRunStatus | null;
  /** The seq of the last line printed (or afterSeq when none was). */
  lastSeq: number;
}

/**
 * Notices when the reader of stdout goes away (EPIPE: `mp train logs -f | head -3`), so the
 * command can stop quietly instead of dying of an unhandled 'error' event. The listener stays
 * once an error was seen (more may follow for writes already queued).
 */
export function watchStdoutClosed(io: Io): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const stream = io.stdout as Partial<NodeJS.EventEmitter>;
  if (typeof stream.on !== 'function' || typeof stream.removeListener !== 'function') {
    return { signal: controller.signal, release: () => undefined };
  }
  const onError = (error: NodeJS.ErrnoException) => {
    if (!controller.signal.aborted) controller.abort(error);
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') process.exitCode ??= 1;
  };
  stream.on('error', onError);
  return {
    signal: controller.signal,
    release: () => {
      if (!controller.signal.aborted) stream.removeListener?.('error', onError);
    },
  };
}

export function interruptedFollowing(runId: string): CliError {
  return new CliError(`stopped following run ${runId}; the run itself keeps going`, ExitCode.INTERRUPTED, {
    hint: `Follow it again with \`mp train logs ${runId} -f\`, or stop it with \`mp train stop ${runId}\`.`,
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve(false);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** An end that no retry can fix, as the error to exit with; undefined when a retry may help. */
function fatalError(end: SubscriptionEnd, runId: string): CliError | undefined {
  if (end.kind === 'errors') {
    const first = end.errors[0] ?? { message: 'the server refused the subscription' };
    const error = cliErrorFromGraphQL(first, `ws:${runId}`);
    if (error.exitCode === ExitCode.NOT_FOUND) {
      return new CliError(error.message, error.exitCode, { hint: 'List your runs with `mp train status`.', requestId: error.requestId });
    }
    return error;
  }
  if (end.kind === 'closed' && isFatalCloseCode(end.code)) {
    // The server closes with 4403 when it refuses the key (graphql-ws: 4401/4403 for auth).
    if (end.code === 4401 || end.code === 4403) {
      return new CliError(end.reason || 'the server refused the API key', ExitCode.AUTH, {
        hint: 'Run `mp login` to sign in again.',
      });
    }
    // 4429: too many sockets for this key or address, or too many failed key attempts.
    if (end.code === 4429) {
      return new CliError(end.reason || 'the server has too many connections from you', ExitCode.INVALID, {
        hint: 'Close other `mp train logs --follow` sessions, or wait and run it again.',
      });
    }
    return new CliError(`the server closed the log stream: ${describeEnd(end)}`, ExitCode.UNEXPECTED);
  }
  return undefined;
}

/**
 * Prints the run's log from `afterSeq` on, live, until the run ends, and returns its final
 * status. Each line is printed once: after a dropped connection it resubscribes with
 * afterSeq = the last seq printed (and ignores anything at or below it, should a server
 * replay too much). Ctrl-C rejects with exit 130; the run is not touched.
 */
export async function followLogs(params: FollowParams): Promise<FollowResult> {
  const { runId, io, out, signal } = params;
  const { TrainLogsFollowDocument } = require('../../../generated/cli-operations') as typeof import('../../../generated/cli-operations');
  const retry = params.retry ?? DEFAULT_RETRY;
  const terminal = io.stdout.isTTY === true;
  let lastSeq = params.afterSeq;
  let finalStatus: TrainingRunStatus | undefined;
  let attempt = 0;
  const stdoutClosed = watchStdoutClosed(io);
  // Ctrl-C or a closed stdout end the subscription alike; which one it was is checked after.
  const stop = AbortSignal.any([signal, stdoutClosed.signal]);
  try {
    for (;;) {
      if (stdoutClosed.signal.aborted) return { finalStatus: null, lastSeq };
      if (signal.aborted) throw interruptedFollowing(runId);
      const connectedAt = { at: 0 };
      let progressed = false;
      const resumingFrom = lastSeq;
      const end = await subscribeOnce(
        params.target,
        TrainLogsFollowDocument,
        { runId, afterSeq: lastSeq },
        {
          signal: stop,
          keepAliveMs: params.keepAliveMs,
          onConnected: () => {
            connectedAt.at = Date.now();
            if (attempt > 0) out.status(out.paintErr('dim', `Reconnected; resuming after line ${resumingFrom}.`));
          },
          onData: (data: TrainLogsFollowSubscription) => {
            progressed = true;
            const event = data.trainingLogs;
            if (stdoutClosed.signal.aborted) return 'stop';
            for (const line of event.lines) {
              if (line.seq <= lastSeq) continue; // replayed after a reconnect: printed already
              io.stdout.write(formatLogLine(line, params.json, terminal));
              lastSeq = line.seq;
            }
            if (event.finalStatus) {
              finalStatus = event.finalStatus;
              return 'stop';
            }
            return 'continue';
          },
        },
      );
      if (stdoutClosed.signal.aborted) return { finalStatus: null, lastSeq };
      if (finalStatus) return { finalStatus, lastSeq };
      if (end.kind === 'cancelled' || signal.aborted) throw interruptedFollowing(runId);
      const fatal = fatalError(end, runId);
      if (fatal) throw fatal;

      if (progressed || (connectedAt.at > 0 && Date.now() - connectedAt.at >= HEALTHY_CONNECTION_MS)) attempt = 0;
      attempt += 1;
      if (attempt > retry.maxAttempts) {
        throw new CliError(
          `lost the log stream of run ${runId} (${describeEnd(end)}) and could not reconnect after ${retry.maxAttempts} attempts`,
          ExitCode.UNREACHABLE,
          { hint: `The run keeps going. Resume with \`mp train logs ${runId} -f --after ${lastSeq}\`.` },
        );
      }
      const delay = Math.max(0, Math.round(retry.delayMs(attempt)));
      out.warn(
        `${describeEnd(end)}; reconnecting in ${(delay / 1000).toFixed(1)} s (attempt ${attempt} of ${retry.maxAttempts}), resuming after line ${lastSeq}`,
      );
      if (!(await sleep(delay, stop))) {
        if (stdoutClosed.signal.aborted) return { finalStatus: null, lastSeq };
        throw interruptedFollowing(runId);
      }
    }
  } finally {
    stdoutClosed.release();
  }
}

/**
 * Aborts on the first Ctrl-C (SIGINT) while following, or when `external` aborts (tests).
 * Call the returned release() when done, so the listener does not outlive the command.
 */
export function interruptSignal(external?: AbortSignal): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  if (external) {
    if (external.aborted) controller.abort();
    else external.addEventListener('abort', onAbort, { once: true });
    return { signal: controller.signal, release: () => external.removeEventListener('abort', onAbort) };
  }
  process.once('SIGINT', onAbort);
  return { signal: controller.signal, release: () => process.removeListener('SIGINT', onAbort) };
}

/**
 * Ends `-f`: SUCCEEDED prints a success line on stderr and returns; any other final status
 * fetches the run for its reason and throws "run <id> FAILED: <reason>" with exit 7.
 */
export async function exitWithOutcome(client: GraphQLClient, runId: string, finalStatus: TrainingRunStatus, out: Output): Promise<void> {
  const { TrainRunBriefDocument } = require('../../../generated/cli-operations') as typeof import('../../../generated/cli-operations');
  if (finalStatus === 'SUCCEEDED') {
    out.status(`${out.paintErr('green', '✓')} run ${runId} SUCCEEDED`);
    out.status(out.paintErr('dim', `Metrics and artifacts: mp train status ${runId}`));
    return;
  }
  let run: { id: string; status: TrainingRunStatus; failureReason: string | null; exitCode: number | null } = {
    id: runId,
    status: finalStatus,
    failureReason: null,
    exitCode: null,
  };
  try {
    const { trainingRun } = await client.request(TrainRunBriefDocument, { id: runId });
    run = { ...trainingRun, status: finalStatus };
  } catch {
    // The outcome is known; the reason is a nicety. Still exit 7.
  }
  throw new CliError(failureMessage(run), ExitCode.JOB_FAILED);
}

/** What a command's caller (or a test) sets for following: a stand-in for Ctrl-C, reconnection, keep-alive. */
export interface FollowOptions {
  /** Aborts following as Ctrl-C does; by default the command listens for SIGINT itself. */
  signal?: AbortSignal;
  /** Reconnection policy (tests shorten it). */
  retry?: RetryPolicy;
  /** Keep-alive ping interval in ms (tests shorten it). */
  keepAliveMs?: number;
}

/**
 * `-f` from start to finish, the one way `mp train logs -f` and `mp train start --follow`
 * follow: until the run ends (Ctrl-C stops following, not the run), then exit with its
 * outcome. A closed stdout (`| head`) ends quietly; the run goes on.
 */
export async function followToOutcome(
  client: GraphQLClient,
  from: { runId: string; afterSeq: number },
  to: { target: SubscriptionTarget; io: Io; out: Output },
  options: FollowOptions = {},
): Promise<void> {
  const interrupt = interruptSignal(options.signal);
  try {
    const { finalStatus } = await followLogs({
      ...from,
      ...to,
      json: to.out.json,
      signal: interrupt.signal,
      retry: options.retry,
      keepAliveMs: options.keepAliveMs,
    });
    if (finalStatus) await exitWithOutcome(client, from.runId, finalStatus, to.out);
  } finally {
    interrupt.release();
  }
}
