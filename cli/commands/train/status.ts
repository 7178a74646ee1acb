import type { CommandModule } from 'yargs';
import type { TrainingRunFieldsFragment, TrainingRunStatus, TrainRunsQuery } from '../../../generated/cli-operations';
import { execute } from '../../execute';
import type { GlobalArgs } from '../../global-options';
import type { Io } from '../../io';
import type { Output } from '../../output';
import { MAX_LIMIT, parseLimit } from '../../flag-parsers';
import { parseStatuses, statusChoices } from './flags';
import { TASKS, type TaskName } from '../../flag-parsers';
import type { TrainingRunDetail } from './run-display';

export interface TrainStatusArgs extends GlobalArgs {
  run_id?: string;
  status?: TrainingRunStatus[];
  task?: TaskName;
  limit?: number;
}

export const DEFAULT_LIMIT = 20;

/** Everything `mp train status <id>` shows, as label/value pairs (the metrics and artifacts tables follow). */
export function runDetailPairs(run: TrainingRunDetail, now: Date = new Date()): Array<[string, string]> {
  const { formatDateTime } = require('../../format') as typeof import('../../format');
  const { formatSeconds } = require('../../duration') as typeof import('../../duration');
  const { formatUsd } = require('../../money') as typeof import('../../money');
  const { formatHyperparameters } = require('../../hyperparameters') as typeof import('../../hyperparameters');
  const { runSeconds } = require('./run-display') as typeof import('./run-display');
  const spec = run.spec;
  const seconds = runSeconds(run, now);
  const pairs: Array<[string, string]> = [['Status', run.exitCode === null ? run.status : `${run.status} (exit code ${run.exitCode})`]];
  if (run.failureReason) pairs.push(['Reason', run.failureReason]);
  pairs.push(
    ['Task', `${spec.task.toLowerCase()}, round ${spec.round}`],
    ['Code', spec.image ? `image ${spec.image}` : `template ${spec.template ?? 'runpod-signal-train'}`],
    ['Hyperparams', formatHyperparameters(spec.hyperparameters)],
    ['Provider', `${run.provider.toLowerCase()}${run.providerJobId ? ` (job ${run.providerJobId})` : ''}`],
    ['GPU', spec.gpuType],
    ['Queued', formatDateTime(run.queuedAt)],
    ['Started', formatDateTime(run.startedAt)],
    ['Finished', formatDateTime(run.finishedAt)],
    ['Duration', seconds === null ? '-' : `${formatSeconds(seconds)}${run.finishedAt ? '' : ' so far'}`],
    ['Timeout', formatSeconds(spec.timeoutSeconds)],
    [
      'Cost',
      run.costStatus === 'UNKNOWN'
        ? `unknown (at least ${formatUsd(run.costUsd)}) of ${formatUsd(spec.maxBudgetUsd)} budget`
        : `${formatUsd(run.costUsd)} of ${formatUsd(spec.maxBudgetUsd)} budget`,
    ],
    ...(run.costNote ? [['Cost note', run.costNote] as [string, string]] : []),
    ['Log lines', String(run.logLineCount)],
  );
  return pairs;
}

function printRun(run: TrainingRunDetail, out: Output): void {
  const { STATUS_STYLE, formatMetricValue } = require('./run-display') as typeof import('./run-display');
  const { formatBytes } = require('../../format') as typeof import('../../format');
  const { isActive } = require('./flags') as typeof import('./flags');
  out.line(out.paint(['bold', 'cyan'], run.id));
  const pairs = runDetailPairs(run);
  pairs[0][1] = out.paint(STATUS_STYLE[run.status], pairs[0][1]);
  out.keyValue(pairs);
  if (run.metrics.length > 0) {
    out.line('');
    out.line(out.paint('bold', 'Metrics'));
    out.table(
      [
        { header: 'name', value: (m) => m.name },
        { header: 'last', value: (m) => formatMetricValue(m.last) },
        { header: 'step', value: (m) => String(m.step) },
        { header: 'min', value: (m) => formatMetricValue(m.min) },
        { header: 'max', value: (m) => formatMetricValue(m.max) },
        { header: 'points', value: (m) => String(m.count) },
      ],
      run.metrics,
    );
  }
  if (run.artifacts.length > 0) {
    out.line('');
    out.line(out.paint('bold', 'Artifacts'));
    out.table(
      [
        { header: 'name', value: (a) => a.name },
        { header: 'size', value: (a) => formatBytes(a.sizeBytes) },
        { header: 'sha256', value: (a) => a.sha256.slice(0, 12) },
      ],
      run.artifacts,
    );
  }
  const hints = [`Logs: mp train logs ${run.id}${isActive(run.status) ? ' -f' : ''}`];
  if (run.artifacts.length > 0) hints.push(`download URLs (valid 1 h): mp train status ${run.id} --json`);
  out.status(out.paintErr('dim', hints.join('; ')));
}

export async function run(args: TrainStatusArgs, io: Io): Promise<void> {
  const { resolveSession, connect } = require('../../session') as typeof import('../../session');
  const operations = require('../../../generated/cli-operations') as typeof import('../../../generated/cli-operations');
  const { Output } = require('../../output') as typeof import('../../output');
  const { usageError } = require('../../errors') as typeof import('../../errors');
  const { withRunHint } = require('./run-display') as typeof import('./run-display');
  const out = new Output(io, args);

  if (args.run_id !== undefined) {
    if (args.status || args.task || args.limit !== undefined) {
      throw usageError('--status, --task and --limit apply to the list of runs, not to one run', 'Run `mp train status` without a run id to list runs.');
    }
    const client = connect(resolveSession(args, io.env), args, io, 'required');
    const { trainingRun } = await client.request(operations.TrainRunDocument, { id: args.run_id.trim() }).catch((error: unknown) => {
      throw withRunHint(error);
    });
    if (out.json) out.data(trainingRun);
    else printRun(trainingRun, out);
    return;
  }

  const client = connect(resolveSession(args, io.env), args, io, 'required');
  const { formatDate } = require('../../format') as typeof import('../../format');
  const { formatSeconds } = require('../../duration') as typeof import('../../duration');
  const { formatUsd } = require('../../money') as typeof import('../../money');
  const { runColumns } = require('./run-display') as typeof import('./run-display');
  const { taskEnum } = require('../../flag-parsers') as typeof import('../../flag-parsers');
  const limit = args.limit ?? DEFAULT_LIMIT;
  const filter = { status: args.status, task: args.task ? taskEnum(args.task) : undefined };
  const runs: TrainingRunFieldsFragment[] = [];
  let totalCount = 0;
  let after: string | null = null;
  // The server may return fewer than asked per page; keep following the cursor.
  while (runs.length < limit) {
    const { trainingRuns }: TrainRunsQuery = await client.request(operations.TrainRunsDocument, {
      filter,
      first: limit - runs.length,
      after,
    });
    totalCount = trainingRuns.totalCount;
    runs.push(...trainingRuns.nodes);
    if (!trainingRuns.pageInfo.hasNextPage || !trainingRuns.pageInfo.endCursor || trainingRuns.nodes.length === 0) break;
    after = trainingRuns.pageInfo.endCursor;
  }

  if (out.json) {
    out.data(runs);
    return;
  }
  if (runs.length === 0) {
    out.status(args.status || args.task ? 'No training runs match.' : 'No training runs yet. Start one with `mp train start --task signal`.');
    return;
  }
  out.table(runColumns({ date: formatDate, duration: formatSeconds, usd: formatUsd }), runs);
  if (totalCount > runs.length) {
    out.status(out.paintErr('dim', `Showing ${runs.length} of ${totalCount} runs; use --limit (up to ${MAX_LIMIT}) or --status to see others.`));
  }
  out.status(out.paintErr('dim', 'One run in detail: mp train status <run_id>'));
}

const trainStatusCommand: CommandModule<GlobalArgs, TrainStatusArgs> = {
  command: 'status [run_id]',
  describe: 'Your training runs, or one run in detail (state, times, cost, metrics, artifacts)',
  builder: (yargs) =>
    yargs
      .positional('run_id', { type: 'string', describe: 'A run id; without it, a table of your runs (newest first)' })
      .option('status', {
        type: 'string',
        requiresArg: true,
        describe: `Only runs in these states, comma-separated: ${statusChoices()}`,
        coerce: parseStatuses,
      })
      .option('task', { choices: TASKS, describe: 'Only runs for this task' })
      .option('limit', {
        type: 'number',
        requiresArg: true,
        describe: `How many runs to list (1 to ${MAX_LIMIT}, default ${DEFAULT_LIMIT})`,
        coerce: parseLimit,
      })
      .example('$0 train status', 'Your 20 newest runs')
      .example('$0 train status --status running,queued', 'What is still going')
      .example('$0 train status trn_2Xf9...', 'One run: state, times, cost, metrics, artifacts'),
  handler: (args) => execute(args, run),
};

export default trainStatusCommand;
