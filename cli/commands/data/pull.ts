import type { CommandModule } from 'yargs';
import type { DataRoundDownloadsQuery } from '../../../generated/cli-operations';
import type { DownloadResult } from '../../download';
import { execute } from '../../execute';
import type { GlobalArgs } from '../../global-options';
import type { Io } from '../../io';
import type { Column } from '../../output';
import { DEFAULT_KINDS, KINDS, parseKinds, roundOption } from './flags';
import type { KindName } from './flags';
import type { RoundRef } from '../../flag-parsers';

export interface DataPullArgs extends GlobalArgs {
  round: RoundRef;
  dir: string;
  kind: KindName[];
  force: boolean;
}

export interface DataPullOptions {
  /** Aborts the pull as Ctrl-C does; by default the command listens for SIGINT itself. */
  signal?: AbortSignal;
}

type Round = NonNullable<DataRoundDownloadsQuery['round']>;
type RoundFile = Round['files'][number];

/** Signed URLs live this long: enough for a slow link to fetch every file of a round. */
export const URL_LIFETIME_SECONDS = 3600;
export const MANIFEST = 'round.json';

/** What `round.json` holds: enough to know, offline, which round the files are and check them. */
export interface RoundManifest {
  round: number;
  name: string;
  status: Round['status'];
  horizonDays: number;
  symbols: string[];
  featureNames: string[];
  splits: Round['splits'];
  files: { name: string; kind: RoundFile['kind']; sha256: string; size: number; rows: number; columns: string[] }[];
  pulledAt: string;
  apiUrl: string;
}

export interface PulledFile extends DownloadResult {
  kind: string;
}

/** Resolves with the promise, or rejects as soon as `signal` aborts (a GraphQL call cannot take a signal). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal, onAbort: () => Error): Promise<T> {
  if (signal.aborted) return Promise.reject(onAbort());
  return new Promise<T>((resolve, reject) => {
    const listener = () => reject(onAbort());
    signal.addEventListener('abort', listener, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', listener);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', listener);
        reject(error);
      },
    );
  });
}

export async function run(args: DataPullArgs, io: Io, options: DataPullOptions = {}): Promise<void> {
  const fs = require('node:fs') as typeof import('node:fs');
  const path = require('node:path') as typeof import('node:path');
  const { resolveSession, connect } = require('../../session') as typeof import('../../session');
  const operations = require('../../../generated/cli-operations') as typeof import('../../../generated/cli-operations');
  const { Output } = require('../../output') as typeof import('../../output');
  const { CliError, ExitCode } = require('../../errors') as typeof import('../../errors');
  const { downloadFile, ensureWritableDir, describeFsError, assertSafeFileName } = require('../../download') as typeof import('../../download');
  const { createProgress } = require('../../progress') as typeof import('../../progress');
  const { formatBytes } = require('../../format') as typeof import('../../format');
  const { noOpenRound, kindLabel, shortSha, roundTitle } = require('./round-display') as typeof import('./round-display');
  const { kindEnum } = require('./flags') as typeof import('./flags');
  const out = new Output(io, args);
  const session = resolveSession(args, io.env);
  const client = connect(session, args, io, 'required');
  const dir = args.dir;

  const controller = new AbortController();
  const onSigint = () => controller.abort();
  if (options.signal) {
    if (options.signal.aborted) controller.abort();
    else options.signal.addEventListener('abort', onSigint, { once: true });
  } else {
    process.once('SIGINT', onSigint);
  }
  const signal = controller.signal;
  const interrupted = () => new CliError('interrupted: nothing was downloaded', ExitCode.INTERRUPTED);

  try {
    let round: Round;
    if (args.round === 'current') {
      const { currentRound } = await abortable(
        client.request(operations.DataCurrentRoundDownloadsDocument, { expiresInSeconds: URL_LIFETIME_SECONDS }),
        signal,
        interrupted,
      );
      if (!currentRound) throw noOpenRound();
      round = currentRound;
    } else {
      ({ round } = await abortable(
        client.request(operations.DataRoundDownloadsDocument, { number: args.round, expiresInSeconds: URL_LIFETIME_SECONDS }),
        signal,
        interrupted,
      ));
    }

    const wanted = args.kind.map(kindEnum);
    const selected: RoundFile[] = [];
    for (const kind of wanted) {
      const files = round.files.filter((file) => file.kind === kind);
      if (files.length === 0) {
        throw new CliError(`round ${round.number} has no ${kindLabel(kind)} file`, ExitCode.NOT_FOUND, {
          hint: `Its files: ${round.files.map((f) => f.name).join(', ') || 'none'} (see \`mp data info --round ${round.number}\`).`,
        });
      }
      selected.push(...files);
    }
    for (const file of selected) assertSafeFileName(file.name);

    // Fail on an unusable directory before a single byte is fetched.
    await ensureWritableDir(dir);
    const totalBytes = selected.reduce((sum, file) => sum + file.sizeBytes, 0);
    out.status(`Pulling ${selected.length} file${selected.length === 1 ? '' : 's'} (${formatBytes(totalBytes)}) of ${roundTitle(round)} into ${dir}`);

    const progress = createProgress(io.stderr, { json: args.json, labelWidth: Math.max(...selected.map((f) => f.name.length)) });
    const manifestPath = path.join(dir, MANIFEST);
    const writeManifest = (files: readonly PulledFile[]) => {
      const manifest = buildManifest(round, files, readManifest(fs, manifestPath), dir, session.apiUrl, fs, path);
      const temp = `${manifestPath}.${process.pid}.tmp`;
      try {
        fs.writeFileSync(temp, `${JSON.stringify(manifest, null, 2)}\n`);
        fs.renameSync(temp, manifestPath);
      } catch (error) {
        fs.rmSync(temp, { force: true });
        throw new CliError(`cannot write to ${dir}: ${describeFsError(error)}`, ExitCode.INVALID, { cause: error });
      }
    };

    const pulled: PulledFile[] = [];
    try {
      for (const file of selected) {
        const result = await downloadFile(
          { name: file.name, url: file.downloadUrl, sha256: file.sha256, sizeBytes: file.sizeBytes },
          { dir, force: args.force, signal, progress, log: (line) => out.status(line) },
        );
        pulled.push({ ...result, kind: kindLabel(file.kind) });
      }
    } catch (error) {
      // The files verified before the failure are good: round.json still describes them.
      if (pulled.length > 0) {
        try {
          writeManifest(pulled);
        } catch {
          // the download error is the one to report
        }
      }
      throw error;
    }
    writeManifest(pulled);

    if (out.json) {
      out.data({
        round: round.number,
        name: round.name,
        dir,
        manifest: manifestPath,
        files: pulled.map((f) => ({ name: f.name, kind: f.kind, path: f.path, size: f.size, sha256: f.sha256, status: f.status })),
      });
      return;
    }
    const columns: Column<PulledFile>[] = [
      { header: 'file', value: (f) => f.name, style: () => 'cyan' },
      { header: 'kind', value: (f) => f.kind },
      { header: 'size', value: (f) => formatBytes(f.size) },
      { header: 'status', value: (f) => f.status.replace(/-/g, ' '), style: (f) => (f.status === 'up-to-date' ? 'dim' : 'green') },
      { header: 'sha256', value: (f) => shortSha(f.sha256) },
    ];
    out.table(columns, pulled);
    const fetched = pulled.filter((f) => f.status !== 'up-to-date').length;
    const verdict = fetched === 0 ? 'everything was up to date' : `${fetched} downloaded and verified`;
    out.line(`Round ${round.number} in ${dir} (${verdict}); manifest ${manifestPath}`);
  } finally {
    if (options.signal) options.signal.removeEventListener('abort', onSigint);
    else process.removeListener('SIGINT', onSigint);
  }
}

function readManifest(fs: typeof import('node:fs'), file: string): RoundManifest | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as RoundManifest;
    return typeof parsed === 'object' && parsed !== null && Array.isArray(parsed.files) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The files pulled now, plus those an earlier pull of the same round left in the directory
 * (same name, checksum and size), in the round's order.
 */
export function buildManifest(
  round: Round,
  pulled: readonly PulledFile[],
  previous: RoundManifest | undefined,
  dir: string,
  apiUrl: string,
  fs: typeof import('node:fs'),
  path: typeof import('node:path'),
): RoundManifest {
  const present = new Set(pulled.map((f) => f.name));
  if (previous && previous.round === round.number) {
    for (const entry of previous.files) {
      const file = round.files.find((f) => f.name === entry.name);
      if (!file || file.sha256 !== entry.sha256 || present.has(entry.name)) continue;
      try {
        if (fs.statSync(path.join(dir, entry.name)).size === file.sizeBytes) present.add(entry.name);
      } catch {
        // gone since: not in the manifest any more
      }
    }
  }
  return {
    round: round.number,
    name: round.name,
    status: round.status,
    horizonDays: round.horizonDays,
    symbols: round.symbols,
    featureNames: round.featureNames,
    splits: round.splits.map((s) => ({ kind: s.kind, firstDate: s.firstDate, lastDate: s.lastDate })),
    files: round.files
      .filter((f) => present.has(f.name))
      .map((f) => ({ name: f.name, kind: f.kind, sha256: f.sha256, size: f.sizeBytes, rows: f.rowCount, columns: f.columns })),
    pulledAt: new Date().toISOString(),
    apiUrl,
  };
}

const dataPullCommand: CommandModule<GlobalArgs, DataPullArgs> = {
  command: 'pull',
  describe: "Download a round's files, verified by SHA-256; an interrupted pull resumes",
  builder: (yargs) =>
    yargs
      .option('round', roundOption)
      .option('dir', { type: 'string', default: './data', requiresArg: true, describe: 'Where to put the files and round.json' })
      .option('kind', {
        type: 'string',
        default: DEFAULT_KINDS.join(','),
        requiresArg: true,
        describe: `Which files: ${KINDS.join(', ')} (comma-separated)`,
        coerce: parseKinds,
      })
      .option('force', { type: 'boolean', default: false, describe: 'Download again even when a file is present and correct' })
      .example('$0 data pull', 'The current round into ./data')
      .example('$0 data pull --round 3 --dir ~/rounds/3 --kind train,validation', 'Only the training data of round 3')
      .example('$0 data pull --kind live --json', 'Only the live file; a JSON summary on stdout'),
  handler: (args) => execute(args, run),
};

export default dataPullCommand;
