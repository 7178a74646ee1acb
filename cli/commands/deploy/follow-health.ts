// `mp deploy --wait` and `mp deploy status --watch`: follow a deployment's status and health over
// the deploymentHealth subscription, surviving dropped connections. The subscription does not
// replay, so each (re)connection also reads the deployment's history and hands on the changes
// not seen yet; a slow re-read covers a change that happens while the subscription is being set
// up. Not a command itself; required lazily by the commands' run().
import type { DeployHealthFollowSubscription, DeploymentFieldsFragment } from '../../../generated/cli-operations';
import type { GraphQLClient } from '../../client';
import { CliError, ExitCode, cliErrorFromGraphQL } from '../../errors';
import { describeEnd, isFatalCloseCode, subscribeOnce } from '../../subscribe';
import type { SubscriptionEnd, SubscriptionTarget } from '../../subscribe';
import type { RetryPolicy } from '../train/follow';
import type { DeploymentChange } from './display';

export interface FollowHealthParams {
  client: GraphQLClient;
  target: SubscriptionTarget;
  deploymentId: string;
  /** Changes shown already (their repeats are skipped). */
  seen?: readonly DeploymentChange[];
  /**
   * Each new change, oldest first, with the deployment as read with it. `current` is false for a
   * change read from the history that a later one there supersedes. Return 'stop' to end.
   */
  onChange: (change: DeploymentChange, deployment: DeploymentFieldsFragment, current: boolean) => 'continue' | 'stop';
  /** Ends following (Ctrl-C, a timeout, a closed stdout): followHealth then resolves 'aborted'. */
  signal: AbortSignal;
  /** A warning line (reconnecting). */
  warn: (text: string) => void;
  retry?: RetryPolicy;
  keepAliveMs?: number;
  /** Milliseconds between re-reads of the history while connected (default 10 s). */
  resyncMs?: number;
}

/** What a command (or a test) may set for following. */
export interface FollowHealthOptions {
  /** Aborts as Ctrl-C does; by default the command listens for SIGINT itself. */
  signal?: AbortSignal;
  retry?: RetryPolicy;
  keepAliveMs?: number;
  resyncMs?: number;
}

/** A connection that lasted this long, or delivered anything, counts as progress: the attempt counter restarts. */
const HEALTHY_CONNECTION_MS = 10_000;
/** A second read this soon after connecting, for a change made while the server registered the subscription. */
const SETTLE_MS = 500;

function changeKey(change: DeploymentChange): string {
  return `${Date.parse(change.at)}|${change.status}|${change.health}`;
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
function fatalEnd(end: SubscriptionEnd): CliError | undefined {
  if (end.kind === 'errors') {
    const first = end.errors[0] ?? { message: 'the server refused the subscription' };
    const error = cliErrorFromGraphQL(first, 'ws:deploymentHealth');
    if (error.exitCode === ExitCode.NOT_FOUND && !error.message.includes('mp deploy list')) {
      return new CliError(error.message, error.exitCode, { hint: 'List your deployments with `mp deploy list`.', requestId: error.requestId });
    }
    return error;
  }
  if (end.kind === 'closed' && isFatalCloseCode(end.code)) {
    if (end.code === 4401 || end.code === 4403) {
      return new CliError(end.reason || 'the server refused the API key', ExitCode.AUTH, { hint: 'Run `mp login` to sign in again.' });
    }
    if (end.code === 4429) {
      return new CliError(end.reason || 'the server has too many connections from you', ExitCode.INVALID, {
        hint: 'Close other `mp deploy status --watch` or `mp train logs -f` sessions, or wait and run it again.',
      });
    }
    return new CliError(`the server closed the health stream: ${describeEnd(end)}`, ExitCode.UNEXPECTED);
  }
  return undefined;
}

/**
 * Hands each status or health change of the deployment to onChange, once and in order, until
 * onChange says 'stop' (resolves 'stopped') or the signal aborts (resolves 'aborted'). Rejects
 * with exit 4 or 3 when the deployment or the key is refused, and with exit 6 after
 * `retry.maxAttempts` failed reconnections in a row.
 */
export async function followHealth(params: FollowHealthParams): Promise<'stopped' | 'aborted'> {
  const { DeployHealthFollowDocument, DeployStateDocument } =
    require('../../../generated/cli-operations') as typeof import('../../../generated/cli-operations');
  const { DEFAULT_RETRY } = require('../train/follow') as typeof import('../train/follow');
  const { withDeploymentHint } = require('./display') as typeof import('./display');
  const { client, deploymentId: id } = params;
  const retry = params.retry ?? DEFAULT_RETRY;
  const resyncMs = params.resyncMs ?? 10_000;
  const seen = new Set((params.seen ?? []).map(changeKey));
  let newest = Math.max(-Infinity, ...(params.seen ?? []).map((change) => Date.parse(change.at)));
  let finished = false;
  let closed = false;
  let fatal: CliError | undefined;
  const internal = new AbortController();
  const stop = AbortSignal.any([params.signal, internal.signal]);

  const deliver = (change: DeploymentChange, deployment: DeploymentFieldsFragment, current: boolean): void => {
    if (finished || closed) return;
    const key = changeKey(change);
    const at = Date.parse(change.at);
    // Older than one shown already: a read that raced a live event. The newer one stands.
    if (seen.has(key) || at < newest) return;
    seen.add(key);
    newest = at;
    if (params.onChange({ at: change.at, status: change.status, health: change.health, reason: change.reason }, deployment, current) === 'stop') {
      finished = true;
      internal.abort();
    }
  };

  const resync = async (): Promise<void> => {
    try {
      const { deployment } = await client.request(DeployStateDocument, { id });
      deployment.history.forEach((change, index) => deliver(change, deployment, index === deployment.history.length - 1));
    } catch (error) {
      // A refused key or a deployment gone is final; a network error is the subscription's to notice.
      if (error instanceof CliError && (error.exitCode === ExitCode.AUTH || error.exitCode === ExitCode.NOT_FOUND)) {
        fatal ??= withDeploymentHint(error) as CliError;
        internal.abort();
      }
    }
  };

  let attempt = 0;
  try {
    for (;;) {
      const connectedAt = { at: 0 };
      let progressed = false;
      const timers: NodeJS.Timeout[] = [];
      const end = await subscribeOnce(
        params.target,
        DeployHealthFollowDocument,
        { id },
        {
          signal: stop,
          keepAliveMs: params.keepAliveMs,
          onConnected: () => {
            connectedAt.at = Date.now();
            if (attempt > 0) params.warn('reconnected');
            void resync();
            timers.push(setTimeout(() => void resync(), Math.min(SETTLE_MS, resyncMs)));
            timers.push(setInterval(() => void resync(), resyncMs));
          },
          onData: (data: DeployHealthFollowSubscription) => {
            progressed = true;
            const event = data.deploymentHealth;
            deliver(event, event.deployment, true);
            return finished ? 'stop' : 'continue';
          },
        },
      );
      for (const timer of timers) clearTimeout(timer);
      if (finished) return 'stopped';
      if (fatal) throw fatal;
      if (end.kind === 'cancelled' || params.signal.aborted) return 'aborted';
      const error = fatalEnd(end);
      if (error) throw error;

      if (progressed || (connectedAt.at > 0 && Date.now() - connectedAt.at >= HEALTHY_CONNECTION_MS)) attempt = 0;
      attempt += 1;
      if (attempt > retry.maxAttempts) {
        throw new CliError(
          `lost the health stream of deployment ${id} (${describeEnd(end)}) and could not reconnect after ${retry.maxAttempts} attempts`,
          ExitCode.UNREACHABLE,
          { hint: `The deployment keeps going; see it with \`mp deploy status ${id}\`.` },
        );
      }
      const delay = Math.max(0, Math.round(retry.delayMs(attempt)));
      params.warn(`${describeEnd(end)}; reconnecting in ${(delay / 1000).toFixed(1)} s (attempt ${attempt} of ${retry.maxAttempts})`);
      if (!(await sleep(delay, stop))) {
        if (fatal) throw fatal;
        return finished ? 'stopped' : 'aborted';
      }
    }
  } finally {
    closed = true;
  }
}
