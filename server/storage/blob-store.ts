// The blob store: where dataset files (and later artifacts) keep their bytes. One small interface,
// a local-directory implementation under MP_DATA_DIR; an S3-compatible one can follow.
//
// A put never leaves a half file under a key: bytes go to <root>/.tmp/<random>, are hashed and
// counted as they are written, fsynced, then renamed into place (rename is atomic on POSIX), and the
// directory is fsynced so the rename itself survives a crash. On any error the temporary file is
// removed and whatever was under the key before is still there, untouched.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

export interface BlobInfo {
  key: string;
  sizeBytes: number;
  /** Lowercase hex SHA-256 of the bytes. */
  sha256: string;
}

export interface BlobStore {
  /** Writes the whole source under `key` (replacing what was there, atomically). */
  put(key: string, source: Buffer | string | AsyncIterable<Uint8Array>): Promise<BlobInfo>;
  /** Size and modification time, or null when nothing is stored under `key`. */
  stat(key: string): Promise<{ sizeBytes: number; modifiedAt: Date } | null>;
  /** A stream of the bytes (or of `range`, both ends inclusive); never loads the file into memory. */
  read(key: string, range?: { start: number; end: number }): NodeJS.ReadableStream;
  /** Removes `key`; nothing happens when it does not exist. */
  delete(key: string): Promise<void>;
}

export class BlobKeyError extends Error {
  override name = 'BlobKeyError';
}

/** Temporary files live here, inside the root so the final rename never crosses file systems. */
const TMP_DIR = '.tmp';
/** Chunks smaller than this are gathered (copied) and written together. */
const DIRECT_WRITE_BYTES = 64 * 1024;
const BATCH_BYTES = 1024 * 1024;
const READ_CHUNK_BYTES = 256 * 1024;

/**
 * Checks a key: a relative POSIX path of non-empty segments, such as `rounds/1/train.csv`.
 * Throws BlobKeyError, naming what is wrong, for anything else.
 */
export function assertBlobKey(key: string): void {
  const refuse = (why: string): never => {
    throw new BlobKeyError(`invalid blob key ${JSON.stringify(key)}: ${why}`);
  };
  if (typeof key !== 'string' || key.length === 0) refuse('it is empty');
  if (key.includes('\0')) refuse('it contains a NUL character');
  if (key.includes('\\')) refuse('it contains a backslash (use / between segments)');
  if (key.startsWith('/')) refuse('it is an absolute path (keys are relative, such as rounds/1/train.csv)');
  const segments = key.split('/');
  if (segments.some((segment) => segment === '')) refuse('it has an empty segment');
  if (segments.some((segment) => segment === '.' || segment === '..')) refuse('it has a "." or ".." segment');
  if (segments[0] === TMP_DIR) refuse(`"${TMP_DIR}" is reserved for the store's temporary files`);
}

export class LocalBlobStore implements BlobStore {
  private readonly root: string;

  constructor(rootDir: string) {
    this.root = path.resolve(rootDir);
  }

  /** The file a key is stored in (after checking the key). */
  pathOf(key: string): string {
    assertBlobKey(key);
    const file = path.join(this.root, ...key.split('/'));
    // Belt and braces: assertBlobKey already makes this impossible.
    if (!file.startsWith(this.root + path.sep)) throw new BlobKeyError(`invalid blob key ${JSON.stringify(key)}: it leaves the store`);
    return file;
  }

  async put(key: string, source: Buffer | string | AsyncIterable<Uint8Array>): Promise<BlobInfo> {
    const target = this.pathOf(key);
    const tmpDir = path.join(this.root, TMP_DIR);
    await mkdir(tmpDir, { recursive: true });
    const tmp = path.join(tmpDir, `${randomBytes(12).toString('hex')}.part`);
    let handle: FileHandle | undefined = await open(tmp, 'wx', 0o644);
    try {
      const hash = createHash('sha256');
      let sizeBytes = 0;
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const flush = async (): Promise<void> => {
        if (pendingBytes === 0) return;
        const buffers = pending;
        pending = [];
        pendingBytes = 0;
        await writeAll(handle!, buffers);
      };
      for await (const chunk of chunksOf(source)) {
        if (chunk.length === 0) continue;
        hash.update(chunk);
        sizeBytes += chunk.length;
        if (chunk.length >= DIRECT_WRITE_BYTES) {
          await flush();
          await writeAll(handle, [chunk]);
        } else {
          // A copy: the producer may reuse its buffer once we ask for the next chunk.
          pending.push(Buffer.from(chunk));
          pendingBytes += chunk.length;
          if (pendingBytes >= BATCH_BYTES) await flush();
        }
      }
      await flush();
      await handle.sync();
      await handle.close();
      handle = undefined;

      const created = await mkdir(path.dirname(target), { recursive: true });
      await rename(tmp, target);
      // The rename is durable once the directory holding the new entry is synced (and, for
      // directories created just now, their parents' entries too).
      await syncDirectory(path.dirname(target));
      if (created !== undefined) {
        for (let dir = path.dirname(path.dirname(target)); dir.length >= this.root.length; dir = path.dirname(dir)) {
          await syncDirectory(dir);
          if (dir === this.root) break;
        }
      }
      return { key, sizeBytes, sha256: hash.digest('hex') };
    } catch (error) {
      if (handle) await handle.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw error;
    }
  }

  async stat(key: string): Promise<{ sizeBytes: number; modifiedAt: Date } | null> {
    const file = this.pathOf(key);
    try {
      const stats = await stat(file);
      if (!stats.isFile()) return null;
      return { sizeBytes: stats.size, modifiedAt: stats.mtime };
    } catch (error) {
      if (isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR')) return null;
      throw error;
    }
  }

  read(key: string, range?: { start: number; end: number }): NodeJS.ReadableStream {
    const file = this.pathOf(key);
    if (range) {
      const { start, end } = range;
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
        throw new RangeError(`invalid range ${start}-${end}: need 0 <= start <= end (end is inclusive)`);
      }
      return createReadStream(file, { start, end, highWaterMark: READ_CHUNK_BYTES });
    }
    return createReadStream(file, { highWaterMark: READ_CHUNK_BYTES });
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    try {
      await unlink(file);
    } catch (error) {
      if (isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR')) return;
      throw error;
    }
  }
}

async function* chunksOf(source: Buffer | string | AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  if (typeof source === 'string') {
    yield Buffer.from(source, 'utf8');
  } else if (source instanceof Uint8Array) {
    yield source;
  } else {
    for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
      // A stream with an encoding set gives strings; take them as UTF-8.
      yield typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    }
  }
}

/** writev until every byte is down (a regular file may take fewer bytes than asked, e.g. at ENOSPC). */
async function writeAll(handle: FileHandle, chunks: Uint8Array[]): Promise<void> {
  let buffers = chunks;
  while (buffers.length > 0) {
    const total = buffers.reduce((sum, b) => sum + b.length, 0);
    const { bytesWritten } = await handle.writev(buffers);
    if (bytesWritten >= total) return;
    if (bytesWritten === 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    let skip = bytesWritten;
    const rest: Uint8Array[] = [];
    for (const b of buffers) {
      if (skip >= b.length) {
        skip -= b.length;
      } else {
        rest.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    buffers = rest;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    // Some file systems cannot fsync a directory; the data itself is already synced.
    if (!isCode(error, 'EINVAL') && !isCode(error, 'EISDIR') && !isCode(error, 'EPERM') && !isCode(error, 'ENOTSUP')) throw error;
  } finally {
    await handle?.close();
  }
}

function isCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
