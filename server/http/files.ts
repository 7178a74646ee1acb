// Signed file downloads under /files/: GET and HEAD, with ETag (sha256), conditional requests and
// single byte ranges (RFC 9110). Bytes stream from the blob store; a file never sits in memory.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { FILES_PREFIX, type BlobStore, type SignedLinks, type StoredFile } from '../storage';

export interface FileDeps {
  links: SignedLinks;
  blobs: BlobStore;
  /** The file stored under a blob key, or null (the modules that own blobs answer). */
  lookup(blobKey: string): Promise<StoredFile | null>;
}

type RangeAnswer = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

/**
 * Answers a request under /files/ and returns true; returns false, without touching `res`, for
 * any other path. Resolves (never rejects) when the client goes away mid-download.
 */
export async function serveSignedFile(req: IncomingMessage, res: ServerResponse, deps: FileDeps): Promise<boolean> {
  const target = req.url ?? '/';
  const queryAt = target.indexOf('?');
  // Deliberately not URL-normalized: "/files/../x" stays ours (and fails its signature) instead of
  // turning into "/x"; the signature covers exactly this decoded path.
  const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
  if (!rawPath.startsWith(FILES_PREFIX)) return false;

  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    sendText(res, 405, `method ${req.method ?? ''} is not allowed on ${FILES_PREFIX}: use GET (or HEAD)`);
    return true;
  }
  let pathname: string;
  try {
    pathname = decodeURIComponent(rawPath);
  } catch {
    sendText(res, 400, 'malformed percent-encoding in the path');
    return true;
  }
  const query = new URLSearchParams(queryAt === -1 ? '' : target.slice(queryAt + 1));
  const verdict = deps.links.resolveDownload(pathname, query);
  if (!verdict.ok) {
    sendText(res, 403, verdict.reason);
    return true;
  }
  const file = await deps.lookup(verdict.blobKey);
  if (!file) {
    sendText(res, 404, 'no such file');
    return true;
  }
  const stored = await deps.blobs.stat(file.blobKey);
  if (!stored) {
    sendText(res, 404, 'no such file');
    return true;
  }
  if (stored.sizeBytes !== file.sizeBytes) {
    // The bytes are not the ones the record (and its checksum) describe: refuse rather than
    // serve a file the client will reject, or a Content-Length that lies.
    sendText(res, 500, 'the stored file does not match its record: ask the operator to rebuild it');
    return true;
  }

  const size = stored.sizeBytes;
  const etag = `"${file.sha256}"`;
  const lastModified = httpDate(stored.modifiedAt);
  res.setHeader('ETag', etag);
  res.setHeader('Last-Modified', lastModified);
  res.setHeader('Cache-Control', 'private, no-store');
  res.setHeader('Accept-Ranges', 'bytes');

  if (matchesAny(req.headers['if-none-match'], etag)) {
    res.statusCode = 304;
    res.end();
    return true;
  }

  res.setHeader('Content-Type', /\.csv$/i.test(file.name) ? 'text/csv; charset=utf-8' : 'application/octet-stream');
  res.setHeader('Content-Disposition', contentDisposition(file.name));
  res.setHeader('X-Content-Type-Options', 'nosniff');

  // Range is defined for GET only (RFC 9110 14.2): HEAD answers with the whole file's headers.
  const range: RangeAnswer =
    req.method === 'GET' && req.headers.range !== undefined && ifRangeHolds(req.headers['if-range'], etag, lastModified)
      ? parseRange(req.headers.range, size)
      : { kind: 'full' };

  if (range.kind === 'unsatisfiable') {
    res.setHeader('Content-Range', `bytes */${size}`);
    res.removeHeader('Content-Disposition');
    sendText(res, 416, `range not satisfiable: the file has ${size} bytes`);
    return true;
  }
  if (range.kind === 'partial') {
    res.statusCode = 206;
    res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
    res.setHeader('Content-Length', range.end - range.start + 1);
  } else {
    res.statusCode = 200;
    res.setHeader('Content-Length', size);
  }
  if (req.method === 'HEAD' || size === 0) {
    res.end();
    return true;
  }
  const body = deps.blobs.read(file.blobKey, range.kind === 'partial' ? { start: range.start, end: range.end } : undefined);
  try {
    // pipeline keeps backpressure, and destroys the file stream (closing its descriptor) when the
    // client disconnects.
    await pipeline(body, res);
  } catch {
    // The client went away, or the file could not be read after the headers went out; either way
    // pipeline has destroyed both streams, and the client sees a short body, never a wrong one.
    if (!res.destroyed) res.destroy();
  }
  return true;
}

/**
 * A single `bytes=a-b`, `bytes=a-` or `bytes=-n`. Several ranges (or another unit) get the whole
 * file, which RFC 9110 allows; a malformed or unsatisfiable bytes range gets 416.
 */
export function parseRange(header: string, size: number): RangeAnswer {
  const match = /^\s*([A-Za-z]+)\s*=\s*(.*)$/.exec(header);
  if (!match) return { kind: 'unsatisfiable' };
  if (match[1].toLowerCase() !== 'bytes') return { kind: 'full' };
  const spec = match[2].trim();
  if (spec.includes(',')) return { kind: 'full' };
  const parts = /^(\d*)\s*-\s*(\d*)$/.exec(spec);
  if (!parts || (parts[1] === '' && parts[2] === '')) return { kind: 'unsatisfiable' };
  if (parts[1] === '') {
    const suffix = Number(parts[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(parts[1]);
  if (start >= size) return { kind: 'unsatisfiable' };
  if (parts[2] === '') return { kind: 'partial', start, end: size - 1 };
  const end = Number(parts[2]);
  if (end < start) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: Math.min(end, size - 1) };
}

/** If-None-Match: `*` or a list of entity tags, compared weakly (RFC 9110 13.1.2). */
function matchesAny(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const value = header.trim();
  if (value === '*') return true;
  return value.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

/** If-Range: the range applies only when the validator still matches, strongly (RFC 9110 13.1.5). */
function ifRangeHolds(header: string | string[] | undefined, etag: string, lastModified: string): boolean {
  if (header === undefined) return true;
  if (Array.isArray(header)) return false;
  const value = header.trim();
  if (value.startsWith('"')) return value === etag;
  if (value.startsWith('W/')) return false;
  const date = Date.parse(value);
  return Number.isFinite(date) && date === Date.parse(lastModified);
}

function httpDate(date: Date): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toUTCString();
}

/** `attachment; filename="..."`, plus RFC 8187 `filename*` when the name is not plain ASCII. */
export function contentDisposition(name: string): string {
  const base = name.split(/[/\\]/).pop() || 'download';
  const ascii = base.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  if (ascii === base) return `attachment; filename="${ascii}"`;
  const encoded = encodeURIComponent(base).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(`${text}\n`);
}
