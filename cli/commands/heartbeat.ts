import type { CommandModule } from 'yargs';
import { execute } from '../execute';
import type { GlobalArgs } from '../global-options';
import type { Io } from '../io';
import { ENDPOINT_STATUSES, parseLatencyMs, type EndpointStatusFlag } from './deploy/flags';

export interface HeartbeatArgs extends GlobalArgs {
  /** Default MP_DEPLOYMENT_ID (set in every deployment's environment). */
  deployment?: string;
  status: EndpointStatusFlag;
  latencyMs?: number;
  version?: string;
}

const TOKEN_HINT = "It is in the deployment's environment; `mp deploy --show-token` or `mp deploy token rotate <deployment_id> --show-token` prints one.";

/** The deployment token from MP_DEPLOYMENT_TOKEN; exit 3 when it is unset or is not one. Never the vendor's key. */
export function deploymentToken(env: NodeJS.ProcessEnv): string {
  const { CliError, ExitCode } = require('../errors') as typeof import('../errors');
  const token = env.MP_DEPLOYMENT_TOKEN?.trim();
  if (!token) {
    throw new CliError("MP_DEPLOYMENT_TOKEN is not set: mp heartbeat sends with the deployment's own token (sit_...), never with your API key", ExitCode.AUTH, {
      hint: TOKEN_HINT,
    });
  }
  if (!token.startsWith('sit_')) {
    const what = token.startsWith('vk_') ? 'an API key (vk_...)' : 'something else';
    throw new CliError(`MP_DEPLOYMENT_TOKEN holds ${what}, not a deployment token (sit_...)`, ExitCode.AUTH, { hint: TOKEN_HINT });
  }
  return token;
}

export async function run(args: HeartbeatArgs, io: Io): Promise<void> {
  const { resolveSession, verboseLog } = require('../session') as typeof import('../session');
  const { GraphQLClient } = require('../client') as typeof import('../client');
  const { DeployHeartbeatDocument } = require('../../generated/cli-operations') as typeof import('../../generated/cli-operations');
  const { Output } = require('../output') as typeof import('../output');
  const { CliError, ExitCode, usageError } = require('../errors') as typeof import('../errors');
  const { endpointStatusEnum } = require('./deploy/flags') as typeof import('./deploy/flags');
  const { formatInstant, describeSignals } = require('./deploy/display') as typeof import('./deploy/display');
  const { formatSeconds } = require('../duration') as typeof import('../duration');
  const out = new Output(io, args);
  const deploymentId = (args.deployment ?? io.env.MP_DEPLOYMENT_ID ?? '').trim();
  if (!deploymentId) throw usageError('name the deployment with --deployment <deployment_id> (or set MP_DEPLOYMENT_ID)');
  const token = deploymentToken(io.env);
  // The session gives only the URL: the request carries the deployment token and nothing else.
  const { apiUrl } = resolveSession(args, io.env);
  const client = new GraphQLClient({
    apiUrl,
    apiKey: token,
    unauthenticatedHint: `The token comes from MP_DEPLOYMENT_TOKEN: it stops working when the deployment stops or its token is rotated (\`mp deploy token rotate ${deploymentId} --show-token\`).`,
    log: verboseLog(args, io),
  });
  const input = {
    status: endpointStatusEnum(args.status),
    ...(args.latencyMs === undefined ? {} : { latencyMs: args.latencyMs }),
    ...(args.version === undefined ? {} : { version: args.version }),
  };
  const { sendHeartbeat: receipt } = await client.request(DeployHeartbeatDocument, { input });
  if (receipt.deploymentId !== deploymentId) {
    throw new CliError(
      `MP_DEPLOYMENT_TOKEN belongs to deployment ${receipt.deploymentId}, not ${deploymentId}: the heartbeat was recorded for ${receipt.deploymentId}`,
      ExitCode.INVALID,
      { hint: `Use that deployment's own token, or --deployment ${receipt.deploymentId}.` },
    );
  }
  if (out.json) {
    out.data({ id: receipt.deploymentId, health: receipt.health, nextDueAt: receipt.nextDueAt, signalsUrl: receipt.signalsUrl, sent: input });
    return;
  }
  const dueIn = Math.max(0, (new Date(receipt.nextDueAt).getTime() - Date.now()) / 1000);
  out.success(`Heartbeat ${input.status} sent for deployment ${receipt.deploymentId}: health ${receipt.health}`);
  out.keyValue([
    ['Next due', `${formatInstant(receipt.nextDueAt)} (in ${formatSeconds(dueIn)})`],
    ['Signals', describeSignals(receipt.signalsUrl)],
  ]);
}

const heartbeatCommand: CommandModule<GlobalArgs, HeartbeatArgs> = {
  command: 'heartbeat',
  describe: 'Send one heartbeat for a deployment with its own token (MP_DEPLOYMENT_TOKEN), as the endpoint does',
  builder: (yargs) =>
    yargs
      // `--version` here is the model version the endpoint reports, not mp's.
      .version(false)
      .option('deployment', { type: 'string', requiresArg: true, describe: 'The deployment id (default MP_DEPLOYMENT_ID)' })
      .option('status', { choices: ENDPOINT_STATUSES, default: 'ready' as EndpointStatusFlag, describe: "The endpoint's status" })
      .option('latency-ms', { type: 'string', requiresArg: true, describe: 'Its recent inference latency in ms', coerce: parseLatencyMs })
      .option('version', { type: 'string', requiresArg: true, describe: 'The model version it serves (at most 128 characters)' })
      .example('MP_DEPLOYMENT_TOKEN=sit_... $0 heartbeat --deployment dep_2Xf9...', 'Report it READY: it becomes RUNNING and HEALTHY')
      .example('$0 heartbeat --deployment dep_2Xf9... --status busy --latency-ms 180 --version v3', 'Report it at capacity (DEGRADED)'),
  handler: (args) => execute(args, run),
};

export default heartbeatCommand;
