import type { CommandModule } from 'yargs';
import type { CreateDeploymentInput, DeploymentFieldsFragment, ModelSourceInput } from '../../../generated/cli-operations';
import { parseDurationSeconds } from '../../duration';
import { execute } from '../../execute';
import type { GlobalArgs } from '../../global-options';
import type { Io } from '../../io';
import type { Output } from '../../output';
import { PROVIDERS, parseBounded, parseGpuTypes, providerEnum, type ProviderFlag } from './flags';
import type { DeploymentChange } from './display';
import type { FollowHealthOptions } from './follow-health';

export interface DeployArgs extends GlobalArgs {
  name?: string;
  provider?: ProviderFlag;
  /** A training run id (run_...), an http(s) URL, or a path. */
  model?: string;
  modelSha256?: string;
  /** Parsed from every --gpu; empty for `--gpu cpu`. */
  gpu?: string[];
  gpuCount?: number;
  cpu?: number;
  memory?: number;
  image?: string;
  heartbeatSeconds?: number;
  rateLimit?: number;
  signalsUrl?: string;
  /** --show-token (yargs sets it; optional only because its types do not camel-case flag names). */
  showToken?: boolean;
  idempotencyKey?: string;
  wait: boolean;
  /** Seconds, parsed from --wait-timeout. */
  waitTimeout?: number;
}

export interface DeployOptions extends FollowHealthOptions {
  /** Where the serving project is (the default name); default the current directory. */
  cwd?: string;
  /** The wait before the one retry of the mutation after a network error (default 1 s). */
  retryDelayMs?: number;
}

/** How long --wait waits for RUNNING and HEALTHY by default. */
export const DEFAULT_WAIT_SECONDS = 600;

const RUN_ID = /^run_[0-9A-Za-z]+$/;

/**
 * `--model`: a training run id (run_...) is that run's model.json; an http(s) URL is downloaded
 * by the deployment; anything else is a file in the server's model directory (MP_DATA_DIR/models,
 * LOCAL only), sent as given: the server resolves a relative path there, not in the current
 * directory, and refuses one outside it.
 */
export function modelSource(ref: string, sha256: string | undefined, provider: ProviderFlag | undefined): ModelSourceInput {
  const { usageError } = require('../../errors') as typeof import('../../errors');
  const text = ref.trim();
  const checksum = sha256?.trim() ? { sha256: sha256.trim().toLowerCase() } : {};
  if (text === '') throw usageError('--model needs a training run id (run_...), an http(s) URL or a path');
  if (RUN_ID.test(text)) return { trainingRunId: text, ...checksum };
  if (/^https?:\/\//i.test(text)) return { url: text, ...checksum };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw usageError(`invalid --model "${text}": a URL must be http or https`, 'Give a training run id (run_...), an http(s) URL or a path.');
  }
  if (provider !== undefined && provider !== 'local') {
    throw usageError(
      `--model ${text} is a path, which only a local deployment can read`,
      'For --provider runpod give an https URL or a training run id (run_...).',
    );
  }
  return { path: text, ...checksum };
}

/** The input as the API takes it; unset flags are left out so the server's defaults apply. */
export function buildInput(args: DeployArgs, cwd: string): CreateDeploymentInput {
  const { usageError } = require('../../errors') as typeof import('../../errors');
  const { projectDeploymentName } = require('./project') as typeof import('./project');
  let name: string;
  if (args.name !== undefined) {
    name = args.name.trim();
    if (name === '') throw usageError('--name must not be empty');
  } else {
    name = projectDeploymentName(cwd);
  }
  const input: CreateDeploymentInput = { name };
  if (args.provider) input.provider = providerEnum(args.provider);
  if (args.model !== undefined) input.model = modelSource(args.model, args.modelSha256, args.provider);
  if (args.gpu !== undefined) input.gpuTypes = args.gpu;
  if (args.gpuCount !== undefined) input.gpuCount = args.gpuCount;
  if (args.cpu !== undefined) input.cpu = args.cpu;
  if (args.memory !== undefined) input.memoryGb = args.memory;
  if (args.image?.trim()) input.image = args.image.trim();
  if (args.heartbeatSeconds !== undefined) input.heartbeatIntervalSeconds = args.heartbeatSeconds;
  if (args.rateLimit !== undefined) input.rateLimitPerMinute = args.rateLimit;
  if (args.signalsUrl?.trim()) input.signalsUrl = args.signalsUrl.trim();
  return input;
}

/** The one line --wait shows while it waits (and prints on each change when not on a terminal). */
export function waitLine(id: string, change: DeploymentChange): string {
  return `${id} ${change.status}, health ${change.health}: ${change.reason}`;
}

type Token = { show: boolean; value: string | null };

function printDeployment(out: Output, deployment: DeploymentFieldsFragment, token: Token, headline?: string): void {
  const { briefPairs, deploymentJson } = require('./display') as typeof import('./display');
  if (out.json) {
    out.data(deploymentJson(deployment, token));
    return;
  }
  if (headline) out.success(headline);
  const pairs = briefPairs(deployment);
  if (token.show) pairs.push(['Token', token.value ?? '(not shown again: see below)']);
  out.keyValue(pairs);
}

function tokenNote(out: Output, id: string, token: Token): void {
  const { TOKEN_NOTE } = require('./display') as typeof import('./display');
  if (token.value === null) {
    out.warn(
      `this repeats an earlier \`mp deploy\` with the same --idempotency-key: the same deployment, whose token was shown then; \`mp deploy token rotate ${id} --show-token\` makes a new one`,
    );
  } else if (token.show) {
    out.warn('Store the token now: it is shown only once (`mp deploy token rotate` makes a new one).');
  } else {
    out.status(out.paintErr('dim', TOKEN_NOTE));
  }
}

export async function run(args: DeployArgs, io: Io, options: DeployOptions = {}): Promise<void> {
  const { randomUUID } = require('node:crypto') as typeof import('node:crypto');
  const { setTimeout: sleep } = require('node:timers/promises') as typeof import('node:timers/promises');
  const { resolveSession, connect, subscriptionTarget } = require('../../session') as typeof import('../../session');
  const { DeployCreateDocument } = require('../../../generated/cli-operations') as typeof import('../../../generated/cli-operations');
  const { Output } = require('../../output') as typeof import('../../output');
  const { CliError, ExitCode } = require('../../errors') as typeof import('../../errors');
  const out = new Output(io, args);
  const cwd = options.cwd ?? process.cwd();

  const input = buildInput(args, cwd);
  const session = resolveSession(args, io.env);
  const client = connect(session, args, io, 'required');
  // One key per invocation: the retry below, and any retry of a proxy, cannot make a second deployment.
  const idempotencyKey = args.idempotencyKey?.trim() || randomUUID();
  const create = async () => (await client.request(DeployCreateDocument, { input, idempotencyKey })).createDeployment;
  let created: Awaited<ReturnType<typeof create>>;
  try {
    created = await create();
  } catch (error) {
    // A network error (not an answer from the server): the deployment may or may not exist. The
    // same key makes the retry return it if it does.
    if (!(error instanceof CliError) || error.exitCode !== ExitCode.UNREACHABLE || error.cause === undefined) throw error;
    out.warn(`${error.message}; retrying once with the same idempotency key`);
    await sleep(options.retryDelayMs ?? 1000);
    created = await create();
  }
  const { deployment } = created;
  const token: Token = { show: args.showToken === true, value: created.token };
  const where = `"${deployment.name}" on ${deployment.provider.toLowerCase()}`;

  if (!args.wait) {
    printDeployment(out, deployment, token, `Created deployment ${out.paint('cyan', deployment.id)} ${where}`);
    tokenNote(out, deployment.id, token);
    out.status(out.paintErr('dim', `Watch it come up: mp deploy status ${deployment.id} --watch`));
    return;
  }

  out.status(`${out.paintErr('green', '✓')} Created deployment ${out.paintErr('cyan', deployment.id)} ${where} (${deployment.status})`);
  out.status(out.paintErr('dim', 'Waiting until it is RUNNING and HEALTHY; Ctrl-C stops waiting, not the deployment.'));
  const { followHealth } = require('./follow-health') as typeof import('./follow-health');
  const { interruptSignal } = require('../train/follow') as typeof import('../train/follow');
  const { createWaitProgress } = require('./spinner') as typeof import('./spinner');
  const { isFinal } = require('./flags') as typeof import('./flags');
  const { formatSeconds } = require('../../duration') as typeof import('../../duration');
  const waitSeconds = args.waitTimeout ?? DEFAULT_WAIT_SECONDS;
  const interrupt = interruptSignal(options.signal);
  const timeout = AbortSignal.timeout(waitSeconds * 1000);
  const progress = createWaitProgress(io.stderr, { json: out.json, env: io.env, initial: `${deployment.id} ${deployment.status}: connecting` });
  let latest = deployment;
  let last: DeploymentChange = { at: deployment.createdAt, status: deployment.status, health: deployment.health, reason: 'created' };
  let outcome: 'healthy' | 'ended' | undefined;
  try {
    await followHealth({
      client,
      target: subscriptionTarget(session, args, io),
      deploymentId: deployment.id,
      signal: AbortSignal.any([interrupt.signal, timeout]),
      warn: (text) => progress.log(`${out.paintErr('yellow', '!')} ${text}`),
      retry: options.retry,
      keepAliveMs: options.keepAliveMs,
      resyncMs: options.resyncMs,
      onChange: (change, snapshot, isCurrent) => {
        latest = snapshot;
        last = change;
        progress.update(waitLine(deployment.id, change));
        if (isFinal(change.status)) outcome = 'ended';
        else if (isCurrent && change.status === 'RUNNING' && change.health === 'HEALTHY') outcome = 'healthy';
        return outcome ? 'stop' : 'continue';
      },
    });
  } catch (error) {
    // Lost the stream, or the key or the deployment was refused: the token, shown once, is still printed.
    progress.stop();
    printDeployment(out, latest, token);
    throw error;
  } finally {
    progress.stop();
    interrupt.release();
  }

  const id = deployment.id;
  // Whatever the outcome, the deployment (and the token, when asked for) is printed: a token is shown only once.
  printDeployment(out, latest, token, outcome === 'healthy' ? `Deployment ${out.paint('cyan', id)} ${where} is RUNNING and HEALTHY` : undefined);
  if (outcome !== 'ended') tokenNote(out, id, token);
  if (outcome === 'healthy') {
    out.status(out.paintErr('dim', `Details: mp deploy status ${id}    Stop it: mp deploy stop ${id}`));
    return;
  }
  if (outcome === 'ended') {
    throw new CliError(`deployment ${id} ${last.status}: ${last.reason}`, ExitCode.JOB_FAILED, {
      hint: `Its history and last log lines: mp deploy status ${id}`,
    });
  }
  const next = `Watch it with \`mp deploy status ${id} --watch\`, or stop it with \`mp deploy stop ${id}\`.`;
  if (timeout.aborted && !interrupt.signal.aborted) {
    throw new CliError(
      `deployment ${id} is not RUNNING and HEALTHY after ${formatSeconds(waitSeconds)} (${last.status}, health ${last.health}: ${last.reason})`,
      ExitCode.JOB_FAILED,
      { hint: `It keeps going. ${next}` },
    );
  }
  throw new CliError(`stopped waiting for deployment ${id} (${last.status}, health ${last.health}); the deployment itself keeps going`, ExitCode.INTERRUPTED, {
    hint: next,
  });
}

const deployCreateCommand: CommandModule<GlobalArgs, DeployArgs> = {
  command: '$0',
  describe: 'Deploy a model as an inference endpoint (the serving template runpod-signal-http)',
  builder: (yargs) =>
    yargs
      .option('name', {
        type: 'string',
        requiresArg: true,
        describe: "1 to 64 letters, digits, spaces, _ . -; default: the serving project's package.json name (required outside one)",
      })
      .option('provider', { choices: PROVIDERS, describe: 'Where it runs (default local: a process on the marketplace machine)' })
      .option('model', {
        type: 'string',
        requiresArg: true,
        describe:
          "What it serves: a training run id (run_...), an http(s) URL, or a file in the server's model directory (local only); default the template's built-in model",
      })
      .option('model-sha256', { type: 'string', requiresArg: true, describe: 'The sha256 the model file must have (checked after download)' })
      .implies('model-sha256', 'model')
      .option('gpu', {
        type: 'string',
        array: true,
        requiresArg: true,
        describe: 'RunPod GPU types to try in order, comma-separated: RTX4090,A100 (default none; --gpu cpu for none)',
        coerce: parseGpuTypes,
      })
      .option('gpu-count', { type: 'string', requiresArg: true, describe: 'GPUs per pod, 1 to 8 (default 1)', coerce: parseBounded('--gpu-count') })
      .option('cpu', { type: 'string', requiresArg: true, describe: 'CPU cores, 1 to 64 (default 2)', coerce: parseBounded('--cpu') })
      .option('memory', { type: 'string', requiresArg: true, describe: 'Memory in GB, 1 to 512 (default 4)', coerce: parseBounded('--memory') })
      .option('image', { type: 'string', requiresArg: true, describe: 'The container image (RunPod; required there)' })
      .option('heartbeat-seconds', {
        type: 'string',
        requiresArg: true,
        describe: 'Seconds between its heartbeats, 1 to 300 (default 10)',
        coerce: parseBounded('--heartbeat-seconds'),
      })
      .option('rate-limit', {
        type: 'string',
        requiresArg: true,
        describe: 'Requests a minute its token may make, 1 to 100000 (default 60)',
        coerce: parseBounded('--rate-limit'),
      })
      .option('signals-url', {
        type: 'string',
        requiresArg: true,
        describe: "Where it writes signals (default the marketplace's own store; see mp link-infra)",
      })
      .option('show-token', { type: 'boolean', default: false, describe: 'Print the deployment token (sit_...), shown only this once' })
      .option('idempotency-key', {
        type: 'string',
        requiresArg: true,
        describe: 'Makes a repeated deploy return the same deployment (default: a new random key per invocation)',
      })
      .option('wait', { type: 'boolean', default: false, describe: 'Then wait until it is RUNNING and HEALTHY (exit 7 if it fails)' })
      .option('wait-timeout', {
        type: 'string',
        requiresArg: true,
        describe: 'How long --wait waits: 90s, 10m, 1h or seconds (default 10m)',
        coerce: (value: unknown) => parseDurationSeconds(value, '--wait-timeout', { min: 1, max: 86_400 }),
      })
      .implies('wait-timeout', 'wait')
      .example('$0 deploy --wait', 'Deploy the serving project in this directory and wait until it is healthy')
      .example('$0 deploy --name momentum --model run_2Xf9... --show-token --json', "A training run's model; the token in the JSON")
      .example(
        '$0 deploy --name big --provider runpod --image ghcr.io/acme/signal:1 --gpu RTX4090,A100 --model https://example.com/model.json',
        'On a RunPod pod',
      ),
  handler: (args) => execute(args, run),
};

export default deployCreateCommand;
