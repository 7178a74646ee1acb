/** File helpers of the local provider: downloads with verification, output size, artifacts. */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, readdir, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web';
import type { ProducedArtifact, TrainingFile } from '../provider';

/** "415 KB", "12.3 MB": for humans reading a log line. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${Math.round(bytes / 1024)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
}

/** An exact limit: "1 GiB", "64 KiB", "1500 bytes". */
export function formatLimit(bytes: number): string {
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} bytes`;
}

/** A file name that is one plain path segment: no separators, no "..", no control characters. */
export function isPlainFileName(name: string): boolean {
  // eslint-disable-next-line no-control-regex
  return name.length > 0 && name.length <= 255 && name !== '.' && name !== '..' && !/[/\\\u0000-\u001f]/.test(name);
}

export class DownloadError extends Error {}

/**
 * Streams `file.url` into `dest`, hashing as it goes; stops as soon as more bytes than
 * announced arrive. Throws DownloadError with a one-line reason on any HTTP, network, size
 * or checksum problem (and removes the partial file), or the abort reason when `signal` fires.
 */
export async function downloadVerified(file: TrainingFile, dest: string, signal: AbortSignal): Promise<void> {
  let response: Response;
  try {
    response = await fetch(file.url, { signal, redirect: 'follow' });
  } catch (error) {
    if (signal.aborted) throw error;
    throw new DownloadError(`download of ${file.name} failed: ${describe(error)}`);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel().catch(() => undefined);
    throw new DownloadError(`download of ${file.name} failed: HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
  }
  const hash = createHash('sha256');
  let size = 0;
  const verify = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > file.sizeBytes) {
        callback(new DownloadError(`download of ${file.name} failed verification: more than the announced ${file.sizeBytes} bytes`));
        return;
      }
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(response.body as unknown as NodeWebReadableStream<Uint8Array>), verify, createWriteStream(dest, { flags: 'wx' }), {
      signal,
    });
    if (size !== file.sizeBytes) {
      throw new DownloadError(`download of ${file.name} failed verification: size mismatch (expected ${file.sizeBytes} bytes, got ${size})`);
    }
    const actual = hash.digest('hex');
    if (actual !== file.sha256.toLowerCase()) {
      throw new DownloadError(`download of ${file.name} failed verification: sha256 mismatch (expected ${file.sha256}, got ${actual})`);
    }
  } catch (error) {
    await rm(dest, { force: true });
    if (signal.aborted || error instanceof DownloadError) throw error;
    throw new DownloadError(`download of ${file.name} failed: ${describe(error)}`);
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}

/**
 * Total size of the regular files under `dir` (symlinks are not followed, not even `dir` itself).
 * Files that vanish while we walk are skipped: the program is still running and may delete what it wrote.
 * Stops early once `stopAbove` is exceeded.
 */
export async function directorySize(dir: string, stopAbove = Infinity): Promise<number> {
  if (!(await isRealDirectory(dir))) return 0;
  let total = 0;
  const pending = [dir];
  while (pending.length > 0 && total <= stopAbove) {
    const current = pending.pop()!;
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) pending.push(full);
      else if (entry.isFile()) {
        try {
          total += (await lstat(full)).size;
        } catch {
          /* gone meanwhile */
        }
      }
    }
  }
  return total;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/** A directory, not a link to one (a program may swap MP_OUTPUT_DIR for a link to anywhere). */
async function isRealDirectory(dir: string): Promise<boolean> {
  try {
    return (await lstat(dir)).isDirectory();
  } catch {
    return false;
  }
}

/** Regular files under `dir`, recursively (symlinks and other special files ignored), as artifacts named by their relative POSIX path, sorted by name. */
export async function collectArtifacts(dir: string): Promise<ProducedArtifact[]> {
  const artifacts: ProducedArtifact[] = [];
  if (!(await isRealDirectory(dir))) return artifacts;
  const walk = async (current: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) {
        const stats = await lstat(full);
        if (!stats.isFile()) continue;
        artifacts.push({
          name: path.relative(dir, full).split(path.sep).join('/'),
          localPath: full,
          sizeBytes: stats.size,
          sha256: await sha256File(full),
        });
      }
    }
  };
  await walk(dir);
  return artifacts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
