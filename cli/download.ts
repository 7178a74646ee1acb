import { createHash, randomBytes } from 'node:crypto';
import type { Hash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { CliError, ExitCode, cliErrorFromNetwork } from './errors';
import { makeDirectory } from './make-directory';
import { streamedGet, type StreamedResponse } from './streamed-get';
import { formatBytes } from './format';
import { silentProgress } from './progress';
import type { ProgressReporter } from './progress';

/** One file to fetch: where from, and what it must hash to. */
export interface DownloadSpec {
  /** A plain file name (no directory part); the file lands in `<dir>/<name>`. */
  name: string;
  url: string;
  /** Lower-case hex SHA-256 of the whole file; the server also sends it as the ETag. */
  sha256: string;
  sizeBytes: number;
}

export interface DownloadOptions {
  dir: string;
  /** Download again even when the file is present and correct; ignore a `.part`. */
  force?: boolean;
  /** Ctrl-C: the transfer stops, the `.part` stays for resuming, the error has exit code 130. */
  signal?: AbortSignal;
  progress?: ProgressReporter;
  /** Status lines such as "train.csv is up to date" (stderr in the CLI). */
  log?: (line: string) => void;
}

export type DownloadStatus = 'downloaded' | 'resumed' | 'up-to-date';

export interface DownloadResult {
  name: string;
  path: string;
  size: number;
  sha256: string;
  status: DownloadStatus;
}

const FS_REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'a part of the path is not a directory',
  EEXIST: 'it exists and is not a directory',
  EISDIR: 'it is a directory',
  ENOENT: 'no such file or directory',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
};

/** "permission denied" rather than "EACCES: permission denied, open '/x/.y'". */
export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && code in FS_REASONS) return FS_REASONS[code];
  return error instanceof Error ? error.message : String(error);
}

function cannotWrite(dir: string, error: unknown): CliError {
  return new CliError(`cannot write to ${dir}: ${describeFsError(error)}`, ExitCode.INVALID, { cause: error });
}

/**
 * Creates `dir` when missing and proves it is writable by creating and removing a probe
 * file, so a pull fails before the first byte is fetched rather than halfway through.
 */
export async function ensureWritableDir(dir: string): Promise<void> {
  try {
    makeDirectory(dir);
    const probe = path.join(dir, `.mp-write-test-${process.pid}-${randomBytes(4).toString('hex')}`);
    await fsp.writeFile(probe, '');
    await fsp.rm(probe, { force: true });
  } catch (error) {
    throw cannotWrite(dir, error);
  }
}

/** The SHA-256 of a file, read in 1 MiB chunks into `hash` (or a new one). */
export async function hashFile(file: string, signal?: AbortSignal, hash: Hash = createHash('sha256')): Promise<Hash> {
  const stream = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  try {
    for await (const chunk of stream) {
      if (signal?.aborted) break;
      hash.update(chunk as Buffer);
    }
  } finally {
    stream.destroy();
  }
  return hash;
}

export async function sha256File(file: string, signal?: AbortSignal): Promise<string> {
  return (await hashFile(file, signal)).digest('hex');
}

async function statFile(file: string): Promise<fs.Stats | undefined> {
  try {
    const stats = await fsp.stat(file);
    return stats.isFile() ? stats : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** A file name the server sent must not reach outside the target directory. */
export function assertSafeFileName(name: string): void {
  if (!name || name === '.' || name === '..' || name !== path.basename(name) || /[\\/\0]/.test(name)) {
    throw new CliError(`the server sent an unsafe file name ${JSON.stringify(name)}; nothing was written`, ExitCode.UNEXPECTED);
  }
}

/** `bytes 100-999/1000` -> 100. */
export function contentRangeStart(header: string | null): number | undefined {
  const match = /^bytes\s+(\d+)-\d+\/(?:\d+|\*)$/i.exec(header?.trim() ?? '');
  return match ? Number(match[1]) : undefined;
}

/** The first line of a text/plain error body (our file route explains a 403 or 404 that way). */
async function reasonOf(response: StreamedResponse): Promise<string> {
  try {
    const text = await response.text();
    const line =
      text
        .split('\n')
        .find((l) => l.trim().length > 0)
        ?.trim() ?? '';
    return line.length > 300 ? `${line.slice(0, 300)}…` : line;
  } catch {
    return '';
  }
}

/** Where the URL points, without the signature in its query string. */
function shownUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return url;
  }
}

/** "the server closed the connection", "connection reset", ... (the words `mp` uses for unreachable servers). */
function networkReason(error: unknown): string {
  const prefix = 'cannot reach : ';
  const message = cliErrorFromNetwork(error, '', 0).message;
  return message.startsWith(prefix) ? message.slice(prefix.length) : message;
}

function interrupted(partPath: string, onDisk: number, total: number): CliError {
  const kept = onDisk > 0 ? `kept ${partPath} (${formatBytes(onDisk)} of ${formatBytes(total)}); ` : '';
  return new CliError(`interrupted: ${kept}run the same command again to resume`, ExitCode.INTERRUPTED);
}

function throwIfAborted(signal: AbortSignal | undefined, partPath: string, onDisk: number, total: number): void {
  if (signal?.aborted) throw interrupted(partPath, onDisk, total);
}

/** Why a transfer has to start over from byte 0 (the `.part` is not usable). */
class Restart {
  constructor(readonly reason: string) {}
}

/**
 * Downloads one file into `<dir>/<name>`: through `<name>.part`, resuming a partial one with
 * `Range` + `If-Range`, hashing while writing, and renaming only once the SHA-256 matches.
 * A final file is therefore always complete and verified; a `.part` is always a prefix.
 */
export async function downloadFile(spec: DownloadSpec, options: DownloadOptions): Promise<DownloadResult> {
  assertSafeFileName(spec.name);
  const { dir, signal } = options;
  const log = options.log ?? (() => undefined);
  const finalPath = path.join(dir, spec.name);
  const partPath = `${finalPath}.part`;
  const expected = spec.sha256.toLowerCase();
  const result = (status: DownloadStatus): DownloadResult => ({
    name: spec.name,
    path: finalPath,
    size: spec.sizeBytes,
    sha256: expected,
    status,
  });

  throwIfAborted(signal, partPath, 0, spec.sizeBytes);
  if (options.force) {
    await fsp.rm(partPath, { force: true }).catch((error: unknown) => {
      throw cannotWrite(dir, error);
    });
  } else {
    const present = await statFile(finalPath);
    if (present) {
      if (present.size === spec.sizeBytes) {
        const actual = await readHash(finalPath, signal);
        throwIfAborted(signal, partPath, 0, spec.sizeBytes);
        if (actual === expected) {
          log(`${spec.name} is up to date`);
          return result('up-to-date');
        }
      }
      log(`${spec.name} differs from the round's file (${present.size === spec.sizeBytes ? 'sha256' : 'size'}): downloading it again`);
    }
  }

  let fromZero = Boolean(options.force);
  for (let attempt = 0; ; attempt += 1) {
    const outcome = await transfer(spec, options, finalPath, partPath, expected, fromZero);
    if (!(outcome instanceof Restart)) return result(outcome);
    if (attempt >= 1) {
      throw new CliError(`cannot download ${spec.name}: ${outcome.reason}, twice`, ExitCode.UNEXPECTED);
    }
    log(`${spec.name}: ${outcome.reason}; downloading it from the start`);
    await fsp.rm(partPath, { force: true });
    fromZero = true;
  }
}

async function readHash(file: string, signal: AbortSignal | undefined): Promise<string> {
  try {
    return (await hashFile(file, signal)).digest('hex');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${describeFsError(error)}`, ExitCode.INVALID, { cause: error });
  }
}

async function transfer(
  spec: DownloadSpec,
  options: DownloadOptions,
  finalPath: string,
  partPath: string,
  expected: string,
  fromZero: boolean,
): Promise<'downloaded' | 'resumed' | Restart> {
  const { dir, signal } = options;
  const total = spec.sizeBytes;
  let hash = createHash('sha256');
  let offset = 0;

  const part = fromZero ? undefined : await statFile(partPath);
  if (part && part.size > total) {
    options.log?.(`${path.basename(partPath)} is larger than the file: discarding it`);
    await fsp.rm(partPath, { force: true });
  } else if (part && part.size > 0) {
    try {
      await hashFile(partPath, signal, hash);
    } catch (error) {
      throw new CliError(`cannot read ${partPath}: ${describeFsError(error)}`, ExitCode.INVALID, { cause: error });
    }
    throwIfAborted(signal, partPath, part.size, total);
    offset = part.size;
    if (offset === total) return finish(spec, hash, partPath, finalPath, 'resumed', dir);
  }

  const headers: Record<string, string> = {};
  if (offset > 0) {
    headers.range = `bytes=${offset}-`;
    headers['if-range'] = `"${expected}"`;
  }
  let response: StreamedResponse;
  try {
    response = await streamedGet(spec.url, { headers, signal });
  } catch (error) {
    throwIfAborted(signal, partPath, offset, total);
    const failure = cliErrorFromNetwork(error, shownUrl(spec.url), 0);
    throw new CliError(`${failure.message}${offset > 0 ? ` (kept ${partPath}: run the same command again to resume)` : ''}`, ExitCode.UNREACHABLE, {
      cause: error,
    });
  }

  let resumed = false;
  switch (response.status) {
    case 200:
      // No range, or the server ignored it (If-Range did not match, or no range support): all bytes again.
      if (offset > 0) {
        options.log?.(`${spec.name}: the server sent the whole file instead of the rest; starting from zero`);
        hash = createHash('sha256');
        offset = 0;
      }
      break;
    case 206: {
      const start = contentRangeStart(response.headers['content-range'] ?? null);
      if (start !== offset) {
        response.discard();
        return new Restart(`the server answered a range starting at ${start ?? 'an unknown byte'} instead of ${offset}`);
      }
      resumed = offset > 0;
      break;
    }
    case 416:
      response.discard();
      return new Restart('the server has fewer bytes than the partial download');
    case 403: {
      const reason = await reasonOf(response);
      throw new CliError(`download of ${spec.name} refused (HTTP 403)${reason ? `: ${reason}` : ''}`, ExitCode.INVALID, {
        hint: 'Download links are signed and short-lived; run the command again to get fresh ones.',
      });
    }
    case 404: {
      const reason = await reasonOf(response);
      throw new CliError(`${spec.name} is not on the server (HTTP 404)${reason ? `: ${reason}` : ''}`, ExitCode.NOT_FOUND);
    }
    default: {
      const reason = await reasonOf(response);
      const unavailable = response.status === 502 || response.status === 503 || response.status === 504;
      throw new CliError(
        `download of ${spec.name} failed: HTTP ${response.status}${reason ? `: ${reason}` : ''}`,
        unavailable ? ExitCode.UNREACHABLE : ExitCode.UNEXPECTED,
      );
    }
  }

  if (resumed) options.log?.(`${spec.name}: resuming at ${formatBytes(offset)} of ${formatBytes(total)}`);
  const progress = (options.progress ?? silentProgress).start(spec.name, total, offset);
  let done = offset;
  const digest = hash;
  try {
    await writeBody(response, partPath, offset > 0, (chunk) => {
      digest.update(chunk);
      done += chunk.length;
      progress.update(done);
    });
  } catch (error) {
    progress.abort();
    const onDisk = (await statFile(partPath).catch(() => undefined))?.size ?? 0;
    if (error instanceof WriteFailure) throw cannotWrite(dir, error.cause);
    throwIfAborted(signal, partPath, onDisk, total);
    const why = networkReason(error);
    throw new CliError(`download of ${spec.name} stopped at ${formatBytes(done)} of ${formatBytes(total)}: ${why}`, ExitCode.UNREACHABLE, {
      hint: onDisk > 0 ? `Kept ${partPath}: run the same command again to resume.` : 'Run the same command again.',
      cause: error,
    });
  }
  progress.finish();
  return finish(spec, digest, partPath, finalPath, resumed ? 'resumed' : 'downloaded', dir);
}

/** The file system failed (disk full, permissions): not a network problem. */
class WriteFailure extends Error {
  constructor(override readonly cause: unknown) {
    super(describeFsError(cause));
  }
}

/** Writes all of `chunk` at the file's end (a short write, rare on regular files, goes on with the rest). */
function writeFully(fd: number, chunk: Uint8Array): void {
  let written = 0;
  while (written < chunk.length) {
    const bytes = fs.writeSync(fd, chunk, written, chunk.length - written);
    if (bytes === 0) throw Object.assign(new Error('the disk accepted no bytes'), { code: 'EIO' });
    written += bytes;
  }
}

/**
 * Streams a response body into `file`, calling `onChunk` after each chunk is written. Writes
 * are synchronous, straight from the socket's read buffer: no copy, no queue, and the file is
 * always a prefix of the body, even when the transfer or a write fails midway. Network errors
 * reject as they are; file-system errors reject as WriteFailure.
 */
export async function writeBody(response: StreamedResponse, file: string, append: boolean, onChunk: (chunk: Uint8Array) => void): Promise<void> {
  let fd: number;
  try {
    fd = fs.openSync(file, append ? 'a' : 'w');
  } catch (error) {
    response.discard();
    throw new WriteFailure(error);
  }
  try {
    await response.readBody((chunk) => {
      try {
        writeFully(fd, chunk);
      } catch (error) {
        throw new WriteFailure(error);
      }
      onChunk(chunk);
    });
  } finally {
    fs.closeSync(fd);
  }
}

/** Verify the `.part`, then rename it: only a verified file ever gets the final name. */
async function finish(
  spec: DownloadSpec,
  hash: Hash,
  partPath: string,
  finalPath: string,
  status: 'downloaded' | 'resumed',
  dir: string,
): Promise<'downloaded' | 'resumed' | Restart> {
  const actual = hash.digest('hex');
  const expected = spec.sha256.toLowerCase();
  if (actual !== expected && status === 'resumed') {
    // The kept prefix may come from another file of the same name (an older pull into this
    // directory): drop it and fetch everything once before calling the file bad.
    return new Restart('the resumed file did not match its checksum');
  }
  if (actual !== expected) {
    const size = (await statFile(partPath).catch(() => undefined))?.size;
    await fsp.rm(partPath, { force: true });
    throw new CliError(`checksum mismatch for ${spec.name}: expected sha256 ${expected}, got ${actual}; the file was removed`, ExitCode.INVALID, {
      details: size !== undefined && size !== spec.sizeBytes ? [`received ${size} bytes, expected ${spec.sizeBytes}`] : [],
      hint: 'Run the command again to download it afresh; if it keeps failing, tell the marketplace operator.',
    });
  }
  try {
    await fsp.rename(partPath, finalPath);
  } catch (error) {
    throw cannotWrite(dir, error);
  }
  return status;
}
