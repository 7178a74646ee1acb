import type { CommandModule } from 'yargs';
import type { DownloadResult } from '../../download';
import { execute } from '../../execute';
import type { GlobalArgs } from '../../global-options';
import type { Io } from '../../io';

export interface TrainArtifactsArgs extends GlobalArgs {
  run_id: string;
  dir?: string;
  force: boolean;
}

export interface TrainArtifactsOptions {
  /** Aborts the download as Ctrl-C does; by default the command listens for SIGINT itself. */
  signal?: AbortSignal;
}

/** Signed URLs live this long: enough for a slow link to fetch every artifact. */
export const URL_LIFETIME_SECONDS = 3600;

/** `<dir>` and the file name of an artifact named `checkpoints/epoch-3.bin`: each part must be a plain name. */
export function artifactTarget(
  dir: string,
  name: string,
  assertSafeFileName: (part: string) => void,
  join: (...parts: string[]) => string,
): { dir: string; name: string } {
  const parts = name.split('/');
  for (const part of parts) assertSafeFileName(part);
  return { dir: join(dir, ...parts.slice(0, -1)), name: parts[parts.length - 1] };
}

/** Downloads a run's artifacts with the transfer of `mp data pull`: verified by SHA-256, an interrupted one resumes. */
export async function run(args: TrainArtifactsArgs, io: Io, options: TrainArtifactsOptions = {}): Promise<void> {
  const path = require('node:path') as typeof import('node:path');
  const { resolveSession, connect } = require('../../session') as typeof import('../../session');
  const { TrainArtifactsDocument } = require('../../../generated/cli-operations') as typeof import('../../../generated/cli-operations');
  const { Output } = require('../../output') as typeof import('../../output');
  const { CliError, ExitCode } = require('../../errors') as typeof import('../../errors');
  const { downloadFile, ensureWritableDir, assertSafeFileName } = require('../../download') as typeof import('../../download');
  const { createProgress } = require('../../progress') as typeof import('../../progress');
  const { formatBytes } = require('../../format') as typeof import('../../format');
  const { isActive } = require('./flags') as typeof import('./flags');
  const { withRunHint } = require('./run-display') as typeof import('./run-display');
  const out = new Output(io, args);
  const client = connect(resolveSession(args, io.env), args, io, 'required');
  const runId = args.run_id.trim();
  const dir = args.dir ?? path.join('artifacts', runId);

  const controller = new AbortController();
  const onSigint = () => controller.abort();
  if (options.signal) {
    if (options.signal.aborted) controller.abort();
    else options.signal.addEventListener('abort', onSigint, { once: true });
  } else {
    process.once('SIGINT', onSigint);
  }
  try {
    const { trainingRun } = await client.request(TrainArtifactsDocument, { id: runId, expiresInSeconds: URL_LIFETIME_SECONDS }).catch((error: unknown) => {
      throw withRunHint(error);
    });
    if (trainingRun.artifacts.length === 0) {
      throw new CliError(
        isActive(trainingRun.status)
          ? `run ${runId} is ${trainingRun.status}: its artifacts are kept when it ends`
          : `run ${runId} (${trainingRun.status}) has no artifacts`,
        ExitCode.NOT_FOUND,
        { hint: `See it with \`mp train status ${runId}\`.` },
      );
    }
    const targets = trainingRun.artifacts.map((artifact) => ({ artifact, ...artifactTarget(dir, artifact.name, assertSafeFileName, path.join) }));
    // Fail on an unusable directory before a single byte is fetched.
    for (const target of new Set(targets.map((entry) => entry.dir))) await ensureWritableDir(target);
    const totalBytes = trainingRun.artifacts.reduce((sum, artifact) => sum + artifact.sizeBytes, 0);
    const count = trainingRun.artifacts.length;
    out.status(`Downloading ${count} artifact${count === 1 ? '' : 's'} (${formatBytes(totalBytes)}) of run ${runId} into ${dir}`);
    const progress = createProgress(io.stderr, { json: args.json, labelWidth: Math.max(...targets.map((entry) => entry.name.length)) });
    const fetched: (DownloadResult & { artifact: string })[] = [];
    for (const { artifact, dir: into, name } of targets) {
      const result = await downloadFile(
        { name, url: artifact.downloadUrl, sha256: artifact.sha256, sizeBytes: artifact.sizeBytes },
        { dir: into, force: args.force, signal: controller.signal, progress, log: (line) => out.status(line) },
      );
      fetched.push({ ...result, artifact: artifact.name });
    }
    if (out.json) {
      out.data({
        run: runId,
        dir,
        artifacts: fetched.map((file) => ({ name: file.artifact, path: file.path, size: file.size, sha256: file.sha256, status: file.status })),
      });
      return;
    }
    out.table(
      [
        { header: 'artifact', value: (file) => file.artifact, style: () => 'cyan' },
        { header: 'size', value: (file) => formatBytes(file.size) },
        { header: 'status', value: (file) => file.status.replace(/-/g, ' '), style: (file) => (file.status === 'up-to-date' ? 'dim' : 'green') },
        { header: 'sha256', value: (file) => file.sha256.slice(0, 12) },
      ],
      fetched,
    );
    const downloaded = fetched.filter((file) => file.status !== 'up-to-date').length;
    out.line(`Run ${runId}'s artifacts in ${dir} (${downloaded === 0 ? 'everything was up to date' : `${downloaded} downloaded and verified`})`);
  } finally {
    if (options.signal) options.signal.removeEventListener('abort', onSigint);
    else process.removeListener('SIGINT', onSigint);
  }
}

const trainArtifactsCommand: CommandModule<GlobalArgs, TrainArtifactsArgs> = {
  command: 'artifacts <run_id>',
  describe: "Download a run's artifacts, verified by SHA-256; an interrupted download resumes",
  builder: (yargs) =>
    yargs
      .positional('run_id', { type: 'string', demandOption: true, describe: 'The run id' })
      .option('dir', { type: 'string', requiresArg: true, describe: 'Where to put them (default ./artifacts/<run_id>)' })
      .option('force', { type: 'boolean', default: false, describe: 'Download again even when a file is present and correct' })
      .example('$0 train artifacts run_3kV9...', 'Into ./artifacts/run_3kV9...')
      .example('$0 train artifacts run_3kV9... --dir ./model --json', 'Into ./model; a JSON summary on stdout'),
  handler: (args) => execute(args, run),
};

export default trainArtifactsCommand;
