import type { CommandModule } from 'yargs';
import { execute } from '../../execute';
import type { GlobalArgs } from '../../global-options';
import type { Io } from '../../io';
import type { Output } from '../../output';
import type { DeploymentChange, DeploymentDetail } from './display';
import type { FollowHealthOptions } from './follow-health';

export interface DeployStatusArgs extends GlobalArgs {
  deployment_id: string;
  watch: boolean;
}

/** How many of the endpoint's last output lines the detail view shows. */
export const LOG_LINES = 10;

/** The detail view; the endpoint's log lines are cleaned of control sequences on a terminal. */
function printDetail(deployment: DeploymentDetail, out: Output, terminal: boolean): void {
  const { HEALTH_STYLE, HISTORY_COLUMNS, STATUS_STYLE, detailPairs } = require('./display') as typeof import('./display');
  const { sanitizeForTerminal } = require('../train/run-display') as typeof import('../train/run-display');
  out.line(out.paint(['bold', 'cyan'], deployment.id));
  const pairs = detailPairs(deployment);
  pairs[1][1] = out.paint(STATUS_STYLE[deployment.status], pairs[1][1]);
  pairs[2][1] = out.paint(HEALTH_STYLE[deployment.health], pairs[2][1]);
  out.keyValue(pairs);
  if (deployment.history.length > 0) {
    out.line('');
    out.line(out.paint('bold', 'History'));
    out.table(HISTORY_COLUMNS, deployment.history);
  }
  out.line('');
  if (deployment.logs.length === 0) {
    out.line(out.paint('bold', 'Last log lines: none yet'));
    return;
  }
  out.line(out.paint('bold', `Last ${deployment.logs.length} log line${deployment.logs.length === 1 ? '' : 's'}`));
  for (const line of deployment.logs) out.line(terminal ? sanitizeForTerminal(line) : line);
}

/** One change as --watch --json prints it: a JSON object per line. */
function changeJson(change: DeploymentChange, deployment: { id: string; endpointUrl: string | null }): string {
  return `${JSON.stringify({ id: deployment.id, status: change.status, health: change.health, endpointUrl: deployment.endpointUrl, reason: change.reason, at: change.at })}\n`;
}

export async function run(args: DeployStatusArgs, io: Io, options: FollowHealthOptions = {}): Promise<void> {
  const { resolveSession, connect, subscriptionTarget } = require('../../session') as typeof import('../../session');
  const { DeployStatusDocument } = require('../../../generated/cli-operations') as typeof import('../../../generated/cli-operations');
  const { Output } = require('../../output') as typeof import('../../output');
  const { withDeploymentHint, changeLine } = require('./display') as typeof import('./display');
  const { isFinal } = require('./flags') as typeof import('./flags');
  const out = new Output(io, args);
  const session = resolveSession(args, io.env);
  const client = connect(session, args, io, 'required');
  const id = args.deployment_id.trim();
  const { deployment } = await client.request(DeployStatusDocument, { id, logLines: LOG_LINES }).catch((error: unknown) => {
    throw withDeploymentHint(error);
  });

  if (!args.watch) {
    if (out.json) out.data(deployment);
    else {
      printDetail(deployment, out, io.stdout.isTTY === true);
      const hints = [`Watch it: mp deploy status ${id} --watch`];
      if (deployment.actions.includes('STOP')) hints.push(`stop it: mp deploy stop ${id}`);
      out.status(out.paintErr('dim', hints.join('; ')));
    }
    return;
  }

  // --watch: the current state, then one line per change (a JSON object each with --json).
  const current = deployment.history.at(-1) ?? { at: deployment.updatedAt, status: deployment.status, health: deployment.health, reason: 'current state' };
  if (out.json) io.stdout.write(changeJson(current, deployment));
  else printDetail(deployment, out, io.stdout.isTTY === true);
  let last = current;
  if (!isFinal(deployment.status)) {
    const { followHealth } = require('./follow-health') as typeof import('./follow-health');
    const { interruptSignal, watchStdoutClosed } = require('../train/follow') as typeof import('../train/follow');
    if (!out.json) {
      out.line('');
      out.status(out.paintErr('dim', `Watching deployment ${id}; Ctrl-C stops watching, not the deployment.`));
    }
    const interrupt = interruptSignal(options.signal);
    const stdoutClosed = watchStdoutClosed(io);
    let result: 'stopped' | 'aborted';
    try {
      result = await followHealth({
        client,
        target: subscriptionTarget(session, args, io),
        deploymentId: id,
        seen: deployment.history,
        signal: AbortSignal.any([interrupt.signal, stdoutClosed.signal]),
        warn: (text) => out.warn(text),
        retry: options.retry,
        keepAliveMs: options.keepAliveMs,
        resyncMs: options.resyncMs,
        onChange: (change, latest) => {
          if (stdoutClosed.signal.aborted) return 'stop';
          io.stdout.write(out.json ? changeJson(change, latest) : `${changeLine(change)}\n`);
          last = change;
          return isFinal(change.status) ? 'stop' : 'continue';
        },
      });
    } finally {
      interrupt.release();
      stdoutClosed.release();
    }
    if (stdoutClosed.signal.aborted) return;
    if (result === 'aborted') {
      const { CliError, ExitCode } = require('../../errors') as typeof import('../../errors');
      throw new CliError(`stopped watching deployment ${id} (${last.status}, health ${last.health}); the deployment itself keeps going`, ExitCode.INTERRUPTED, {
        hint: `Stop it with \`mp deploy stop ${id}\`.`,
      });
    }
  }
  endWith(last, id, out);
}

/** A final status ends --watch: STOPPED with exit 0, FAILED with exit 7 and its reason. */
function endWith(last: DeploymentChange, id: string, out: Output): void {
  const { CliError, ExitCode } = require('../../errors') as typeof import('../../errors');
  if (last.status === 'FAILED') throw new CliError(`deployment ${id} FAILED: ${last.reason}`, ExitCode.JOB_FAILED);
  out.status(`${out.paintErr('green', '✓')} deployment ${id} ${last.status}`);
}

const deployStatusCommand: CommandModule<GlobalArgs, DeployStatusArgs> = {
  command: 'status <deployment_id>',
  describe: 'One deployment in detail: status, health, endpoint, heartbeats, model, history, last log lines',
  builder: (yargs) =>
    yargs
      .positional('deployment_id', { type: 'string', demandOption: true, describe: 'The deployment id (dep_..., from mp deploy list)' })
      .option('watch', {
        alias: 'w',
        type: 'boolean',
        default: false,
        describe: 'Then print each status or health change until it stops (exit 0) or fails (exit 7); Ctrl-C stops watching',
      })
      .example('$0 deploy status dep_2Xf9...', 'Its state, history and last log lines')
      .example('$0 deploy status dep_2Xf9... --watch --json', 'Each change as a JSON line'),
  handler: (args) => execute(args, run),
};

export default deployStatusCommand;
