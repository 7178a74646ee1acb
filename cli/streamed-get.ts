// GET for large files, read straight from the socket into one reused buffer (net's `onread`).
//
// node:http's client reads 64 KiB at a time into a fresh buffer and passes every piece through
// its parser and a stream. On a 256 MiB round file that cost about twice curl's time here, so
// `mp data pull` speaks just enough HTTP/1.1 itself: one request with `Connection: close`, the
// status line and headers, then a body framed by Content-Length, by chunked transfer coding or
// by the end of the connection. The body goes to a synchronous callback, 1 MiB at a time, with
// no copy and no allocation per read. The API client (cli/client.ts) stays on node:http.
import type { IncomingHttpHeaders } from 'node:http';
import * as net from 'node:net';

export interface StreamedGetOptions {
  headers?: Record<string, string>;
  /** Aborts the request, or the body being read, with the signal's reason. */
  signal?: AbortSignal;
  /** Size of the one read buffer (default 1 MiB). */
  bufferBytes?: number;
  /** Fails with ETIMEDOUT when no byte arrives for this long (default 60 s). */
  idleTimeoutMs?: number;
  /** https: the certificate authorities to trust instead of node's (a private CA, tests). */
  ca?: string | Buffer;
}

export interface StreamedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /**
   * Hands the body to `onChunk` as it arrives and resolves at its end. `onChunk` runs
   * synchronously and must not keep the chunk: its memory is reused for the next read. If it
   * throws, the connection is closed and the promise rejects with that error. Call once.
   */
  readBody(onChunk: (chunk: Buffer) => void): Promise<void>;
  /** The body as text, up to `limitBytes` (default 64 KiB; the rest is dropped). */
  text(limitBytes?: number): Promise<string>;
  /** Drops the body and the connection. */
  discard(): void;
}

const DEFAULT_BUFFER_BYTES = 1 << 20;
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
const MAX_HEAD_BYTES = 64 * 1024;
const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** An error with a system-style code, so callers word it like any other network failure. */
function networkError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * Sends a GET and resolves once the response head is in, following up to 5 redirects.
 * Rejects with the socket's error (ECONNREFUSED, ...), a protocol error (code EPROTO) or the
 * signal's reason.
 */
export async function streamedGet(url: string, options: StreamedGetOptions = {}): Promise<StreamedResponse> {
  let target = new URL(url);
  for (let redirects = 0; ; redirects += 1) {
    const response = await getOnce(target, options);
    const location = response.headers.location;
    if (!REDIRECTS.has(response.status) || !location) return response;
    response.discard();
    if (redirects >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects from ${url}`);
    target = new URL(location, target);
  }
}

function connect(target: URL, onread: net.OnReadOpts, ca: StreamedGetOptions['ca']): net.Socket {
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
  if (target.protocol === 'http:') return net.connect({ host, port: Number(target.port || 80), onread });
  if (target.protocol === 'https:') {
    const tls = require('node:tls') as typeof import('node:tls');
    // Over TLS the reads come as decrypted records (16 KiB), not 1 MiB: onread saves less there.
    const options = { host, port: Number(target.port || 443), servername: net.isIP(host) ? undefined : host, onread, ...(ca ? { ca } : {}) };
    return tls.connect(options as import('node:tls').ConnectionOptions);
  }
  throw new Error(`unsupported URL scheme ${target.protocol} (use http or https)`);
}

function requestHead(target: URL, headers: Record<string, string>): string {
  const lines = [`GET ${target.pathname}${target.search} HTTP/1.1`, `Host: ${target.host}`, 'Connection: close', 'Accept-Encoding: identity'];
  for (const [name, value] of Object.entries(headers)) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new Error(`header ${JSON.stringify(name)} has a line break`);
    lines.push(`${name}: ${value}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

interface Head {
  status: number;
  headers: IncomingHttpHeaders;
}

/** Status line and header lines (no trailing blank line) -> status and node-style headers. */
function parseHead(text: string): Head {
  const [statusLine, ...lines] = text.split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
  if (!match) throw networkError(`not an HTTP/1.1 response: ${JSON.stringify(statusLine.slice(0, 80))}`, 'EPROTO');
  const headers: Record<string, string | string[]> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw networkError(`malformed response header ${JSON.stringify(line.slice(0, 80))}`, 'EPROTO');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const previous = headers[name];
    if (name === 'set-cookie') headers[name] = [...((previous as string[] | undefined) ?? []), value];
    else headers[name] = previous === undefined ? value : `${previous as string}, ${value}`;
  }
  return { status: Number(match[1]), headers: headers as IncomingHttpHeaders };
}

/** Where the body ends: after N bytes, at the last chunk of a chunked body, or at the end of the connection. */
type Framing = { kind: 'length'; remaining: number } | { kind: 'chunked'; decoder: ChunkedDecoder } | { kind: 'close' };

function framingOf(head: Head): Framing {
  if (head.status === 204 || head.status === 304) return { kind: 'length', remaining: 0 };
  const coding = head.headers['transfer-encoding'];
  if (coding !== undefined) {
    if (!/^\s*chunked\s*$/i.test(coding)) throw networkError(`unsupported Transfer-Encoding ${JSON.stringify(coding)}`, 'EPROTO');
    return { kind: 'chunked', decoder: new ChunkedDecoder() };
  }
  const length = head.headers['content-length'];
  if (length !== undefined) {
    if (!/^\d+$/.test(length)) throw networkError(`invalid Content-Length ${JSON.stringify(length)}`, 'EPROTO');
    return { kind: 'length', remaining: Number(length) };
  }
  return { kind: 'close' };
}

/**
 * Chunked transfer coding (RFC 9112 7.1): size line, data, CRLF, ..., a zero size, trailers.
 * `push` passes the data bytes to `emit` (as sub-arrays of its input) and returns true at the end.
 */
export class ChunkedDecoder {
  private state: 'size' | 'data' | 'data-end' | 'trailer' | 'done' = 'size';
  private line = '';
  private remaining = 0;

  push(input: Buffer, emit: (data: Buffer) => void): boolean {
    let at = 0;
    while (at < input.length && this.state !== 'done') {
      if (this.state === 'data') {
        const take = Math.min(this.remaining, input.length - at);
        emit(input.subarray(at, at + take));
        at += take;
        this.remaining -= take;
        if (this.remaining === 0) this.state = 'data-end';
        continue;
      }
      const newline = input.indexOf(10, at);
      const end = newline < 0 ? input.length : newline;
      this.line += input.toString('latin1', at, end);
      if (this.line.length > 4096) throw networkError('chunked body: a chunk header line is too long', 'EPROTO');
      at = end;
      if (newline < 0) break;
      at += 1;
      const line = this.line.replace(/\r$/, '');
      this.line = '';
      if (this.state === 'size') {
        const size = /^([0-9a-fA-F]{1,12})[ \t]*(?:;.*)?$/.exec(line.trim());
        if (!size) throw networkError(`chunked body: bad chunk size line ${JSON.stringify(line.slice(0, 40))}`, 'EPROTO');
        this.remaining = parseInt(size[1], 16);
        this.state = this.remaining === 0 ? 'trailer' : 'data';
      } else if (this.state === 'data-end') {
        if (line !== '') throw networkError('chunked body: a chunk does not end with CRLF', 'EPROTO');
        this.state = 'size';
      } else if (line === '') {
        this.state = 'done';
      }
    }
    return this.state === 'done';
  }
}

function getOnce(target: URL, options: StreamedGetOptions): Promise<StreamedResponse> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const request = requestHead(target, options.headers ?? {});
  const buffer = Buffer.allocUnsafe(options.bufferBytes ?? DEFAULT_BUFFER_BYTES);

  return new Promise<StreamedResponse>((resolveHead, rejectHead) => {
    let headBytes: Buffer[] = [];
    let headLength = 0;
    let head: Head | undefined;
    let framing: Framing | undefined;
    /** Body bytes that came before readBody() asked for them (with the head, or from TLS), copied. */
    let early: Buffer | undefined;
    let sink: ((chunk: Buffer) => void) | undefined;
    let settleBody: { resolve: () => void; reject: (error: unknown) => void } | undefined;
    let failure: unknown;
    let complete = false;

    const fail = (error: unknown) => {
      if (failure !== undefined || complete) return;
      failure = error;
      socket.destroy();
      signal?.removeEventListener('abort', onAbort);
      if (!head) rejectHead(error);
      else settleBody?.reject(error);
    };
    const finish = () => {
      if (complete || failure !== undefined) return;
      complete = true;
      socket.destroy();
      signal?.removeEventListener('abort', onAbort);
      settleBody?.resolve();
    };
    const onAbort = () => fail(signal?.reason);

    /** Body bytes, in order, to the sink; returns false once the body is complete or failed. */
    const deliver = (bytes: Buffer): boolean => {
      if (!framing || !sink) return false;
      try {
        if (framing.kind === 'length') {
          const take = Math.min(framing.remaining, bytes.length);
          if (take > 0) sink(bytes.subarray(0, take));
          framing.remaining -= take;
          if (framing.remaining === 0) finish();
        } else if (framing.kind === 'chunked') {
          if (framing.decoder.push(bytes, sink)) finish();
        } else if (bytes.length > 0) {
          sink(bytes);
        }
      } catch (error) {
        fail(error);
      }
      return !complete && failure === undefined;
    };

    const onHeadBytes = (bytes: Buffer): boolean => {
      headBytes.push(Buffer.from(bytes));
      headLength += bytes.length;
      const all = Buffer.concat(headBytes, headLength);
      const end = all.indexOf('\r\n\r\n');
      if ((end < 0 ? headLength : end) > MAX_HEAD_BYTES) {
        fail(networkError(`the response head is larger than ${MAX_HEAD_BYTES / 1024} KiB`, 'EPROTO'));
        return false;
      }
      if (end < 0) {
        headBytes = [all];
        return true;
      }
      try {
        const parsed = parseHead(all.toString('latin1', 0, end));
        const rest = all.subarray(end + 4);
        if (parsed.status >= 100 && parsed.status < 200) {
          // An interim answer (103 Early Hints): the real head follows.
          headBytes = [];
          headLength = 0;
          return rest.length > 0 ? onHeadBytes(rest) : true;
        }
        framing = framingOf(parsed);
        head = parsed;
        early = rest;
      } catch (error) {
        fail(error);
        return false;
      }
      resolveHead(response);
      return false; // paused until readBody()
    };

    const socket = connect(
      target,
      {
        buffer,
        callback: (length: number, data: Uint8Array): boolean => {
          if (failure !== undefined || complete) return false;
          const bytes = Buffer.from(data.buffer, data.byteOffset, length);
          if (head && !sink) {
            // Paused until readBody(), but TLS still hands over what it has already decrypted.
            early = early && early.length > 0 ? Buffer.concat([early, bytes]) : Buffer.from(bytes);
            return false;
          }
          return head ? deliver(bytes) : onHeadBytes(bytes);
        },
      },
      options.ca,
    );
    socket.setNoDelay(true);
    socket.setTimeout(options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, () =>
      fail(networkError(`no data from the server for ${(options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS) / 1000} s`, 'ETIMEDOUT')),
    );
    socket.once('connect', () => socket.write(request));
    socket.on('error', fail);
    socket.on('close', () => {
      if (complete || failure !== undefined) return;
      if (!head) return fail(networkError('the server closed the connection before answering', 'ECONNRESET'));
      if (framing?.kind === 'close' && sink) return finish();
      // Without a sink yet, readBody() sees the closed socket.
      if (sink) fail(networkError('the server closed the connection before the end of the body', 'ECONNRESET'));
    });
    signal?.addEventListener('abort', onAbort, { once: true });

    const response: StreamedResponse = {
      get status() {
        return head?.status ?? 0;
      },
      get headers() {
        return head?.headers ?? {};
      },
      readBody(onChunk) {
        if (sink) return Promise.reject(new Error('readBody() was already called'));
        return new Promise<void>((resolve, reject) => {
          settleBody = { resolve, reject };
          sink = onChunk;
          if (failure !== undefined) return reject(failure);
          if (complete) return reject(new Error('readBody() after discard(): the body was dropped'));
          const first = early ?? Buffer.alloc(0);
          early = undefined;
          if (first.length > 0 && !deliver(first)) return;
          if (framing?.kind === 'length' && framing.remaining === 0) return finish();
          if (socket.destroyed) {
            if (framing?.kind === 'close') return finish();
            return fail(networkError('the server closed the connection before the end of the body', 'ECONNRESET'));
          }
          socket.resume();
        });
      },
      async text(limitBytes = 64 * 1024) {
        const parts: Buffer[] = [];
        let kept = 0;
        await response.readBody((chunk) => {
          if (kept >= limitBytes) return;
          const piece = chunk.subarray(0, limitBytes - kept);
          parts.push(Buffer.from(piece));
          kept += piece.length;
        });
        return Buffer.concat(parts).toString('utf8');
      },
      discard() {
        if (settleBody) fail(new Error('the body was discarded while being read'));
        else finish();
      },
    };
  });
}
