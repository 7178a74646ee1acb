import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalBlobStore, type BlobStore } from '../../server/storage/blob-store';
import { serveSignedFile } from '../../server/http/files';
import { FILES_PREFIX, SignedLinks, type StoredFile } from '../../server/storage/signed-links';
import { UrlSigner } from '../../server/storage/url-signer';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const HOUR = 3600 * 1000;

describe('signed file downloads', function () {
  let dir: string;
  let blobs: LocalBlobStore;
  let server: Server;
  let port: number;
  const signer = new UrlSigner(randomBytes(32));
  const files = new Map<string, StoredFile>();
  const handlerErrors: unknown[] = [];
  /** Every stream the server opened, to check they are all closed. */
  const opened: NodeJS.ReadableStream[] = [];

  const train = Buffer.from(
    'date,feature_ret_1d,target\n' +
      Array.from({ length: 500 }, (_, i) => `2020-01-${String((i % 28) + 1).padStart(2, '0')},${(i / 1000).toFixed(3)},0.5`).join('\n') +
      '\n',
  );
  const big = Buffer.alloc(20 * 1024 * 1024);

  // node:http rather than fetch: fetch normalizes "/files/../x" before sending it, and hides aborts.
  function send(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }

  function signed(path: string, expiresAt = new Date(Date.now() + HOUR)): string {
    return `${path}?${signer.sign(path, expiresAt)}`;
  }

  function sha256(data: Buffer): string {
    return createHash('sha256').update(data).digest('hex');
  }

  async function publish(path: string, key: string, name: string, data: Buffer): Promise<StoredFile> {
    const info = await blobs.put(key, data);
    const file = { blobKey: key, sha256: info.sha256, sizeBytes: info.sizeBytes, name };
    files.set(path, file);
    return file;
  }

  before(async function () {
    this.timeout(60_000);
    dir = await mkdtemp(join(tmpdir(), 'mp-files-'));
    blobs = new LocalBlobStore(join(dir, 'blobs'));
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i, i);
    await publish('/files/rounds/1/train.csv', 'rounds/1/train.csv', 'round-1-train.csv', train);
    await publish('/files/rounds/1/live.csv', 'rounds/1/live.csv', 'round-1-live.csv', Buffer.from('date,feature\n2020-04-17,0.5\n'));
    await publish('/files/rounds/1/big.bin', 'rounds/1/big.bin', 'big.bin', big);
    await publish('/files/rounds/1/empty.csv', 'rounds/1/empty.csv', 'empty.csv', Buffer.alloc(0));
    files.set('/files/rounds/1/gone.csv', { blobKey: 'rounds/1/gone.csv', sha256: sha256(Buffer.alloc(0)), sizeBytes: 0, name: 'gone.csv' });
    // A file next to the store that no URL may reach.
    await writeFile(join(dir, 'secret.txt'), 'outside the store\n');

    const recording: BlobStore = {
      put: (key, source) => blobs.put(key, source),
      stat: (key) => blobs.stat(key),
      delete: (key) => blobs.delete(key),
      read: (key, range) => {
        const stream = blobs.read(key, range);
        opened.push(stream);
        return stream;
      },
    };
    server = createServer((req, res) => {
      serveSignedFile(req, res, {
        links: new SignedLinks(signer),
        blobs: recording,
        lookup: async (blobKey) => files.get(`${FILES_PREFIX}${blobKey}`) ?? null,
      }).then(
        (handled) => {
          if (handled) return;
          res.statusCode = 404;
          res.setHeader('X-Handled-By', 'app');
          res.end();
        },
        (error: unknown) => {
          handlerErrors.push(error);
          res.statusCode = 500;
          res.end(String(error));
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(async function () {
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  afterEach(function () {
    assert.deepEqual(handlerErrors, [], 'the handler never rejects');
  });

  it('serves a whole file with its length, sha256 ETag, type, name and range support', async function () {
    const reply = await send(signed('/files/rounds/1/train.csv'));
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body, train);
    assert.equal(sha256(reply.body), files.get('/files/rounds/1/train.csv')!.sha256);
    assert.equal(reply.headers['content-length'], String(train.length));
    assert.equal(reply.headers['content-type'], 'text/csv; charset=utf-8');
    assert.equal(reply.headers.etag, `"${sha256(train)}"`);
    assert.equal(reply.headers['accept-ranges'], 'bytes');
    assert.equal(reply.headers['content-disposition'], 'attachment; filename="round-1-train.csv"');
    assert.match(reply.headers['cache-control'] ?? '', /private/);
    assert.ok(Number.isFinite(Date.parse(reply.headers['last-modified'] ?? '')));
  });

  it('serves a file that is not CSV as application/octet-stream, and an empty file', async function () {
    const reply = await send(signed('/files/rounds/1/empty.csv'));
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-length'], '0');
    assert.equal(reply.body.length, 0);
    const head = await send(signed('/files/rounds/1/big.bin'), {}, 'HEAD');
    assert.equal(head.headers['content-type'], 'application/octet-stream');
  });

  it('names a download with quotes or accents safely, with an RFC 8187 filename* for the exact name', async function () {
    await publish('/files/rounds/1/odd.csv', 'rounds/1/odd.csv', 'résumé "1".csv', Buffer.from('a\n'));
    const reply = await send(signed('/files/rounds/1/odd.csv'), {}, 'HEAD');
    assert.equal(reply.headers['content-disposition'], `attachment; filename="r_sum_ _1_.csv"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%221%22.csv`);
  });

  it('answers HEAD with the headers of a GET and no body', async function () {
    const reply = await send(signed('/files/rounds/1/train.csv'), {}, 'HEAD');
    assert.equal(reply.status, 200);
    assert.equal(reply.body.length, 0);
    assert.equal(reply.headers['content-length'], String(train.length));
    assert.equal(reply.headers.etag, `"${sha256(train)}"`);
    assert.equal(reply.headers['accept-ranges'], 'bytes');
  });

  it('serves bytes=a-b, bytes=a- and bytes=-n as 206 with the matching slice', async function () {
    const size = train.length;
    const cases: Array<[string, number, number]> = [
      ['bytes=0-0', 0, 0],
      ['bytes=10-99', 10, 99],
      ['bytes=100-', 100, size - 1],
      ['bytes=-25', size - 25, size - 1],
      ['bytes=5-999999', 5, size - 1], // an end past the file is cut to the last byte
      [`bytes=-${size + 10}`, 0, size - 1], // a suffix longer than the file is the whole file
    ];
    for (const [range, start, end] of cases) {
      const reply = await send(signed('/files/rounds/1/train.csv'), { range });
      assert.equal(reply.status, 206, range);
      assert.equal(reply.headers['content-range'], `bytes ${start}-${end}/${size}`, range);
      assert.equal(reply.headers['content-length'], String(end - start + 1), range);
      assert.deepEqual(reply.body, train.subarray(start, end + 1), range);
    }
  });

  it('answers 416 with the size for a range past the end or a malformed one', async function () {
    const size = train.length;
    for (const range of [`bytes=${size}-`, `bytes=${size + 5}-${size + 10}`, 'bytes=-0', 'bytes=9-3', 'bytes=abc', 'bytes=-', 'bytes=1-2-3', 'nonsense']) {
      const reply = await send(signed('/files/rounds/1/train.csv'), { range });
      assert.equal(reply.status, 416, range);
      assert.equal(reply.headers['content-range'], `bytes */${size}`, range);
    }
    const empty = await send(signed('/files/rounds/1/empty.csv'), { range: 'bytes=0-' });
    assert.equal(empty.status, 416);
    assert.equal(empty.headers['content-range'], 'bytes */0');
  });

  it('serves the whole file for several ranges or another range unit', async function () {
    for (const range of ['bytes=0-1,5-6', 'items=0-1']) {
      const reply = await send(signed('/files/rounds/1/train.csv'), { range });
      assert.equal(reply.status, 200, range);
      assert.deepEqual(reply.body, train, range);
    }
  });

  it('answers 304 to If-None-Match with the current ETag, and the file to a stale one', async function () {
    const etag = `"${sha256(train)}"`;
    for (const value of [etag, `W/${etag}`, `"stale", ${etag}`, '*']) {
      const reply = await send(signed('/files/rounds/1/train.csv'), { 'if-none-match': value });
      assert.equal(reply.status, 304, value);
      assert.equal(reply.body.length, 0);
      assert.equal(reply.headers.etag, etag);
    }
    const stale = await send(signed('/files/rounds/1/train.csv'), { 'if-none-match': '"0000"' });
    assert.equal(stale.status, 200);
    assert.deepEqual(stale.body, train);
  });

  it('honours a range only when If-Range still names this file', async function () {
    const etag = `"${sha256(train)}"`;
    const same = await send(signed('/files/rounds/1/train.csv'), { range: 'bytes=0-9', 'if-range': etag });
    assert.equal(same.status, 206);
    assert.deepEqual(same.body, train.subarray(0, 10));
    const changed = await send(signed('/files/rounds/1/train.csv'), { range: 'bytes=0-9', 'if-range': '"another-version"' });
    assert.equal(changed.status, 200);
    assert.deepEqual(changed.body, train);
    const weak = await send(signed('/files/rounds/1/train.csv'), { range: 'bytes=0-9', 'if-range': `W/${etag}` });
    assert.equal(weak.status, 200);
    const lastModified = same.headers['last-modified']!;
    const byDate = await send(signed('/files/rounds/1/train.csv'), { range: 'bytes=0-9', 'if-range': lastModified });
    assert.equal(byDate.status, 206);
    const oldDate = await send(signed('/files/rounds/1/train.csv'), { range: 'bytes=0-9', 'if-range': 'Tue, 01 Jan 2019 00:00:00 GMT' });
    assert.equal(oldDate.status, 200);
  });

  it('refuses an expired URL with 403 and a one-line reason', async function () {
    const expiresAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    const reply = await send(signed('/files/rounds/1/train.csv', expiresAt));
    assert.equal(reply.status, 403);
    assert.match(reply.headers['content-type'] ?? '', /^text\/plain/);
    assert.equal(reply.body.toString(), `expired at ${expiresAt.toISOString()}: ask for a new download URL\n`);
  });

  it('refuses a tampered signature or expiry with 403', async function () {
    const url = new URL(signed('/files/rounds/1/train.csv'), 'http://x');
    const signature = url.searchParams.get('signature')!;
    const tampered = new URLSearchParams(url.searchParams);
    tampered.set('signature', (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1));
    const extended = new URLSearchParams(url.searchParams);
    extended.set('expires', String(Number(url.searchParams.get('expires')) + 86400));
    for (const query of [tampered, extended]) {
      const reply = await send(`${url.pathname}?${query.toString()}`);
      assert.equal(reply.status, 403);
      assert.equal(reply.body.toString(), 'invalid signature: the URL was changed or is not from this server\n');
    }
  });

  it("refuses one file's signature on another file's path with 403", async function () {
    const query = signer.sign('/files/rounds/1/live.csv', new Date(Date.now() + HOUR));
    const reply = await send(`/files/rounds/1/train.csv?${query}`);
    assert.equal(reply.status, 403);
    assert.match(reply.body.toString(), /^invalid signature/);
  });

  it('refuses a URL without a signature, or with a malformed expiry, with 403', async function () {
    const missing = await send('/files/rounds/1/train.csv');
    assert.equal(missing.status, 403);
    assert.equal(missing.body.toString(), 'signature missing\n');
    const signature = new URLSearchParams(signer.sign('/files/rounds/1/train.csv', new Date(Date.now() + HOUR))).get('signature')!;
    const malformed = await send(`/files/rounds/1/train.csv?expires=tomorrow&signature=${signature}`);
    assert.equal(malformed.status, 403);
    assert.equal(malformed.body.toString(), 'malformed expires\n');
  });

  it('answers 404 for a signed path that names no file, or whose bytes are missing', async function () {
    const unknown = await send(signed('/files/rounds/9/train.csv'));
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.toString(), 'no such file\n');
    const gone = await send(signed('/files/rounds/1/gone.csv'));
    assert.equal(gone.status, 404);
  });

  it('answers 500 rather than serve bytes that do not match the record', async function () {
    await blobs.put('rounds/1/changed.csv', 'a,b\n1,2\n');
    files.set('/files/rounds/1/changed.csv', { blobKey: 'rounds/1/changed.csv', sha256: '0'.repeat(64), sizeBytes: 99, name: 'changed.csv' });
    const reply = await send(signed('/files/rounds/1/changed.csv'));
    assert.equal(reply.status, 500);
    assert.match(reply.body.toString(), /does not match its record/);
  });

  it('answers 405 with Allow to any method but GET and HEAD', async function () {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const reply = await send(signed('/files/rounds/1/train.csv'), {}, method);
      assert.equal(reply.status, 405, method);
      assert.equal(reply.headers.allow, 'GET, HEAD');
    }
  });

  it('leaves other paths to the rest of the app', async function () {
    assert.equal(FILES_PREFIX, '/files/');
    for (const path of ['/graphql', '/files', '/filesx/a', '/%66iles/rounds/1/train.csv']) {
      const reply = await send(path);
      assert.equal(reply.headers['x-handled-by'], 'app', path);
    }
  });

  it('never serves a file outside the store, however the path climbs out', async function () {
    const attempts = [
      '/files/../secret.txt',
      '/files/../../secret.txt',
      '/files/%2e%2e/secret.txt',
      '/files/%2E%2E%2Fsecret.txt',
      '/files/rounds/1/..%2f..%2f..%2fsecret.txt',
      '/files/..%5c..%5csecret.txt',
      '/files/%00/secret.txt',
      '/files/%zz',
    ];
    for (const path of attempts) {
      for (const url of [path, signed(path), `${path}?${signer.sign(decodeURIComponentSafe(path), new Date(Date.now() + HOUR))}`]) {
        const reply = await send(url);
        assert.ok([400, 403, 404].includes(reply.status), `${url}: ${reply.status}`);
        assert.ok(!reply.body.toString().includes('outside the store'), url);
      }
    }
  });

  it('streams a 20 MB file whole, and any slice of it', async function () {
    this.timeout(60_000);
    const reply = await send(signed('/files/rounds/1/big.bin'));
    assert.equal(reply.status, 200);
    assert.equal(reply.body.length, big.length);
    assert.equal(sha256(reply.body), sha256(big));
    const start = 7 * 1024 * 1024 + 3;
    const end = 13 * 1024 * 1024 + 11;
    const slice = await send(signed('/files/rounds/1/big.bin'), { range: `bytes=${start}-${end}` });
    assert.equal(slice.status, 206);
    assert.ok(slice.body.equals(big.subarray(start, end + 1)));
  });

  it('closes the file when a client disconnects midway, and keeps serving', async function () {
    this.timeout(60_000);
    const blobFile = join(dir, 'blobs', 'rounds', '1', 'big.bin');
    const fdsOnBlob = (): number => countFdsOn(blobFile);
    const before = opened.length;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      await new Promise<void>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: signed('/files/rounds/1/big.bin'), agent: false }, (res) => {
          let received = 0;
          res.on('data', (chunk: Buffer) => {
            received += chunk.length;
            if (received > 1024 * 1024) {
              req.destroy();
              resolve();
            }
          });
          res.on('end', () => reject(new Error('the download finished before the client aborted')));
        });
        req.on('error', () => undefined);
        req.end();
      });
    }
    const streams = opened.slice(before);
    assert.equal(streams.length, 5);
    const deadline = Date.now() + 10_000;
    while (streams.some((stream) => !(stream as unknown as { closed: boolean }).closed) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const stream of streams) {
      assert.equal((stream as unknown as { destroyed: boolean }).destroyed, true, 'the read stream was destroyed');
      assert.equal((stream as unknown as { closed: boolean }).closed, true, 'the read stream closed its file');
    }
    if (existsSync('/proc/self/fd')) assert.equal(fdsOnBlob(), 0, 'no descriptor is left open on the file');
    const after = await send(signed('/files/rounds/1/train.csv'));
    assert.equal(after.status, 200);
    assert.deepEqual(after.body, train);
  });
});

function decodeURIComponentSafe(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** Descriptors of this process open on `file` (Linux). */
function countFdsOn(file: string): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === file) count += 1;
    } catch {
      // closed while we looked
    }
  }
  return count;
}
