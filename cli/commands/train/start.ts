import type { CommandModule } from 'yargs';
import type { HyperparameterInput, TrainingRunFieldsFragment, TrainingSpecInput } from '../../../generated/cli-operations';
import { parseDurationSeconds } from '../../duration';
import { execute } from '../../execute';
import type { GlobalArgs } from '../../global-options';
import { parseHyperparameters } from '../../hyperparameters';
import type { Io } from '../../io';
import { parseBudgetUsd } from '../../money';
import { PROVIDERS, providerEnum } from './flags';
import { TASKS, taskEnum, type TaskName } from '../../flag-parsers';
import { parseRound } from '../../flag-parsers';
import type { ProviderFlag } from './flags';
import type { RoundRef } from '../../flag-parsers';
import type { FollowOptions } from './follow';

export interface TrainStartArgs extends GlobalArgs {
  task: TaskName;
  round: RoundRef;
  /** Parsed from every --hp by parseHyperparameters. */
  hp?: HyperparameterInput[];
  gpu?: string;
  provider?: ProviderFlag;
  template?: string;
  image?: string;
  /** Seconds, parsed from --timeout. */
  timeout?: number;
  /** USD decimal string, parsed from --budget. */
  budget?: string;
  idempotencyKey?: string;
  follow: boolean;
}

export interface TrainStartOptions extends FollowOptions {
  /** The wait before the one retry of the mutation after a network error (default 1 s). */
  retryDelayMs?: number;
}

/** The spec as the API takes it; unset flags are left out so the server's defaults apply. */
export function buildSpec(args: TrainStartArgs): TrainingSpecInput {
  const spec: TrainingSpecInput = { task: taskEnum(args.task) };
  if (args.round !== 'current') spec.round = args.round;
  if (args.hp && args.hp.length > 0) spec.hyperparameters = args.hp;
  if (args.gpu) spec.gpuType = args.gpu;
  if (args.provider) spec.provider = providerEnum(args.provider);
  if (args.template) spec.template = args.template;
  if (args.image) spec.image = args.image;
  if (args.timeout !== undefined) spec.timeoutSeconds = args.timeout;
  if (args.budget !== undefined) spec.maxBudgetUsd = args.budget;
  return spec;
}

/** "signal on round 3, A100 on runpod, timeout 2h, budget $5.00". */
export function describeRun(run: TrainingRunFieldsFragment, format: { duration: (s: number) => string; usd: (d: string) => string }): string {
  const spec = run.spec;
  const where = spec.template ? `template ${spec.template}` : spec.image ? `image ${spec.image}` : undefined;
  return [
    `${spec.task.toLowerCase()} on round ${spec.round}`,
    `${spec.gpuType} on ${run.provider.toLowerCase()}`,
    ...(where ? [where] : []),
    `timeout ${format.duration(spec.timeoutSeconds)}`,
    `budget ${format.usd(spec.maxBudgetUsd)}`,
  ].join(', ');
}

export async function run(args: TrainStartArgs, io: Io, options: TrainStartOptions = {}): Promise<void> {
  const { randomUUID } = require('node:crypto') as typeof import('node:crypto');
  const { setTimeout: sleep } = require('node:timers/promises') as typeof import('node:timers/promises');
  const { resolveSession, connect, subscriptionTarget } = require('../../session') as typeof import('../../session');
  const { TrainStartDocument } = require('../../../generated/cli-operations') as typeof import('../../../generated/cli-operations');
  const { Output } = require('../../output') as typeof import('../../output');
  const { CliError, ExitCode } = require('../../errors') as typeof import('../../errors');
  const { formatSeconds } = require('../../duration') as typeof import('../../duration');
  const { formatUsd } = require('../../money') as typeof import('../../money');
  const out = new Output(io, args);
  const session = resolveSession(args, io.env);
  const client = connect(session, args, io, 'required');

  const spec = buildSpec(args);
  // One key per invocation: the retry below, and any retry of a proxy, cannot make a second run.
  const idempotencyKey = args.idempotencyKey?.trim() || randomUUID();
  const start = async () => (await client.request(TrainStartDocument, { spec, idempotencyKey })).startTrainingRun;
  let run: TrainingRunFieldsFragment;
  try {
    run = await start();
  } catch (error) {
    // A network error (not an answer from the server): the run may or may not exist. The
    // same key makes the retry return it if it does.
    if (!(error instanceof CliError) || error.exitCode !== ExitCode.UNREACHABLE || error.cause === undefined) throw error;
    out.warn(`${error.message}; retrying once with the same idempotency key`);
    await sleep(options.retryDelayMs ?? 1000);
    run = await start();
  }

  const format = { duration: formatSeconds, usd: formatUsd };
  if (!args.follow) {
    if (out.json) {
      out.data(run);
    } else {
      out.success(`Started training run ${out.paint('cyan', run.id)} (${run.status}): ${describeRun(run, format)}`);
    }
    out.status(out.paintErr('dim', `Follow its log: mp train logs ${run.id} -f    Status: mp train status ${run.id}`));
    return;
  }

  // --follow: stdout carries the log lines only (JSON lines with --json); the rest is on stderr.
  out.status(`${out.paintErr('green', '✓')} Started training run ${out.paintErr('cyan', run.id)} (${run.status}): ${describeRun(run, format)}`);
  out.status(out.paintErr('dim', 'Following its log; Ctrl-C stops following, not the run.'));
  const { followToOutcome } = require('./follow') as typeof import('./follow');
  await followToOutcome(client, { runId: run.id, afterSeq: 0 }, { target: subscriptionTarget(session, args, io), io, out }, options);
}

const trainStartCommand: CommandModule<GlobalArgs, TrainStartArgs> = {
  command: 'start',
  describe: 'Start a managed training run (queued, then run on a compute provider)',
  builder: (yargs) =>
    yargs
      .option('task', { choices: TASKS, demandOption: true, describe: 'What the model produces' })
      .option('round', {
        type: 'string',
        default: 'current',
        requiresArg: true,
        describe: 'The dataset round: a number, or "current" (the newest open round)',
        coerce: parseRound,
      })
      .option('hp', {
        type: 'string',
        array: true,
        requiresArg: true,
        describe: 'A hyperparameter name=value (repeatable); true/false are booleans, numbers are numbers, the rest strings',
        coerce: parseHyperparameters,
      })
      .option('gpu', { type: 'string', requiresArg: true, describe: 'GPU type id, e.g. A100, RTX4090, CPU (default CPU)' })
      .option('provider', { choices: PROVIDERS, describe: 'Where it runs (default local)' })
      .option('template', { type: 'string', requiresArg: true, describe: 'A marketplace template (default runpod-signal-train)' })
      .option('image', { type: 'string', requiresArg: true, describe: 'A container image (RunPod) instead of a template' })
      .conflicts('template', 'image')
      .option('timeout', {
        type: 'string',
        requiresArg: true,
        describe: 'Stop it after: 90s, 45m, 2h, 1d or seconds; 60 s to 7 days (default 2h)',
        coerce: (value: unknown) => parseDurationSeconds(value),
      })
      .option('budget', {
        type: 'string',
        requiresArg: true,
        describe: 'Stop it when it has cost this many USD: 5, 12.50; at most 10000 (default 5)',
        coerce: parseBudgetUsd,
      })
      .option('idempotency-key', {
        type: 'string',
        requiresArg: true,
        describe: 'Makes a repeated start return the same run (default: a new random key per invocation)',
      })
      .option('follow', { alias: 'f', type: 'boolean', default: false, describe: 'Then stream its log and exit with its outcome (0, or 7 if it fails)' })
      .example('$0 train start --task signal --hp lr=0.001 --hp epochs=20 --follow', 'Train on the current round and watch it')
      .example('$0 train start --task signal --round 3 --gpu A100 --provider runpod --timeout 2h --budget 12.50', 'On RunPod, with limits')
      .example('$0 train start --task signal --json', 'The queued run as JSON'),
  handler: (args) => execute(args, run),
};

export default trainStartCommand;
