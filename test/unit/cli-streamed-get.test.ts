import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { streamedGet } from '../../cli/streamed-get';
import type { StreamedResponse } from '../../cli/streamed-get';

// ---------------------------------------------------------------------------------------------
// Helpers: real servers on 127.0.0.1:0, closed after each test.
// ---------------------------------------------------------------------------------------------

const sha = (buffer: Buffer) => createHash('sha256').update(buffer).digest('hex');

/** Servers opened by the current test; afterEach closes them all. */
const openServers: Array<{ close(): Promise<void> }> = [];

/** `HTTP/1.1 <status>` plus header lines and the blank line that ends a response head. */
const head = (status: string, ...lines: string[]) => [`HTTP/1.1 ${status}`, ...lines, '', ''].join('\r\n');

/** One connection to a raw server, once the client's request head has arrived. */
interface RawConnection {
  socket: net.Socket;
  /** The request head as received (request line and header lines, without the blank line). */
  request: string;
  /** Resolves when the server's side of the connection closes (the client closed or reset it). */
  closed: Promise<void>;
}

/**
 * A raw TCP server: it waits for each request head, then lets `respond` write whatever bytes it
 * wants (malformed heads, chunk extensions, split writes, ...). It keeps reading afterwards, so
 * it sees the client close the connection.
 */
async function rawServer(respond: (connection: RawConnection) => void | Promise<void>) {
  const sockets = new Set<net.Socket>();
  const connections: RawConnection[] = [];
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => undefined); // the client may reset the connection: some tests do exactly that
    const closed = new Promise<void>((resolve) =>
      socket.once('close', () => {
        sockets.delete(socket);
        resolve();
      }),
    );
    let received = '';
    const onData = (data: Buffer) => {
      received += data.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.resume(); // go on reading (and dropping) so that the client's FIN is seen
      const connection: RawConnection = { socket, request: received.slice(0, end), closed };
      connections.push(connection);
      Promise.resolve(respond(connection)).catch(() => socket.destroy());
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const handle = {
    url: `http://127.0.0.1:${port}`,
    port,
    connections,
    /** Connections accepted, including those that never sent a request head. */
    get accepted() {
      return accepted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  openServers.push(handle);
  return handle;
}

/** A node:http server, for the ordinary cases (node writes the framing). */
function httpServer(listener: http.RequestListener) {
  return listening(http.createServer(listener), 'http://127.0.0.1');
}

/** `server` listening on 127.0.0.1, port 0; closed after the test. */
async function listening(server: http.Server | https.Server, origin: string) {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const handle = {
    url: `${origin}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  openServers.push(handle);
  return handle;
}

/** Writes each piece as its own TCP write, `gapMs` apart, so the client gets them in separate reads. */
async function sendPieces(socket: net.Socket, pieces: Array<string | Buffer>, gapMs = 15): Promise<void> {
  for (const [index, piece] of pieces.entries()) {
    if (index > 0) await sleep(gapMs);
    if (socket.destroyed) return;
    socket.write(piece);
  }
}

/** Every byte of `text` as its own piece. */
const byteByByte = (text: string) => [...Buffer.from(text)].map((byte) => Buffer.from([byte]));

/**
 * Starts readBody, copying each chunk (its memory is reused by the next read). `body()` is what
 * arrived so far, also after a failure.
 */
function startReading(response: StreamedResponse, onChunk?: (chunk: Buffer, index: number) => void) {
  const chunks: Buffer[] = [];
  const done = response.readBody((chunk) => {
    chunks.push(Buffer.from(chunk));
    onChunk?.(chunk, chunks.length - 1);
  });
  return { done, chunks, body: () => Buffer.concat(chunks) };
}

async function readAll(response: StreamedResponse): Promise<Buffer> {
  const reading = startReading(response);
  await reading.done;
  return reading.body();
}

/** `promise`, or a clear failure if it has not settled within `ms` (instead of mocha's timeout). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Awaits a rejection and returns the error, so a test can check it is a given object. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected the promise to reject');
}

// ---------------------------------------------------------------------------------------------

describe('streamedGet (cli/streamed-get.ts) against real local servers', function () {
  this.timeout(10_000);

  afterEach(async () => {
    await Promise.all(openServers.splice(0).map((server) => server.close()));
  });

  describe('bodies and framing', () => {
    it('200 with Content-Length: status, lower-cased and joined headers, exact body over many 4 KiB reads', async () => {
      const content = randomBytes(300_000 + 17);
      const server = await httpServer((_req, res) => {
        res.setHeader('X-Mixed-Case', 'Value');
        res.setHeader('X-Dup', ['a', 'b']);
        res.setHeader('Set-Cookie', ['one=1; Path=/', 'two=2']);
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': content.length });
        res.end(content);
      });
      const response = await streamedGet(`${server.url}/file.bin`, { bufferBytes: 4096 });
      assert.equal(response.status, 200);
      assert.equal(response.headers['x-mixed-case'], 'Value');
      assert.ok(
        Object.keys(response.headers).every((name) => name === name.toLowerCase()),
        `header names are lower-cased: ${Object.keys(response.headers).join(' ')}`,
      );
      assert.equal(response.headers['x-dup'], 'a, b');
      assert.deepEqual(response.headers['set-cookie'], ['one=1; Path=/', 'two=2']);
      assert.equal(response.headers['content-length'], String(content.length));
      assert.equal(response.headers['content-type'], 'application/octet-stream');

      const reading = startReading(response);
      await reading.done;
      assert.ok(reading.chunks.length >= Math.ceil(content.length / 4096), `${reading.chunks.length} chunks`);
      assert.ok(
        reading.chunks.every((chunk) => chunk.length > 0 && chunk.length <= 4096),
        'no chunk is empty or larger than the read buffer',
      );
      assert.equal(sha(reading.body()), sha(content));
    });

    it('trims header values and keeps colons inside them', async () => {
      const server = await rawServer(({ socket }) => {
        socket.write(`${head('200 OK', 'X-Spaced:    padded value   ', 'X-Url: http://a.example/b:c', 'Content-Length: 0')}`);
      });
      const response = await streamedGet(server.url);
      assert.equal(response.headers['x-spaced'], 'padded value');
      assert.equal(response.headers['x-url'], 'http://a.example/b:c');
      assert.equal((await readAll(response)).length, 0);
    });

    it('reads a Content-Length body while the server keeps the connection open, and ignores bytes past it', async () => {
      const server = await rawServer(({ socket }) => {
        socket.write(`${head('200 OK', 'Content-Length: 11')}hello world and then some junk`);
        // No end(): the length alone must end the body.
      });
      const response = await streamedGet(server.url);
      const body = await within(readAll(response), 2000, 'the body should end after 11 bytes');
      assert.equal(body.toString(), 'hello world');
      await within(server.connections[0].closed, 2000, 'the client should close the connection once done');
    });

    it('decodes a chunked body written in several pieces by a node:http server (no Content-Length)', async () => {
      const pieces = [randomBytes(1), randomBytes(5000), randomBytes(70_000), randomBytes(3)];
      const server = await httpServer(async (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        for (const piece of pieces) {
          res.write(piece);
          await sleep(10);
        }
        res.end();
      });
      const response = await streamedGet(server.url, { bufferBytes: 4096 });
      assert.equal(response.status, 200);
      assert.equal(response.headers['transfer-encoding'], 'chunked');
      assert.equal(response.headers['content-length'], undefined);
      const body = await readAll(response);
      assert.ok(body.equals(Buffer.concat(pieces)), `got ${body.length} bytes, expected ${Buffer.concat(pieces).length}`);
    });

    it('decodes chunk extensions and trailers split across TCP writes at awkward places', async () => {
      const sixteen = '0123456789abcdef';
      let allSent = false;
      const server = await rawServer(async ({ socket }) => {
        await sendPieces(socket, [
          'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r', // head split between CR and LF of its end
          '\n5;x=y\r\nhel', // chunk extension; data split
          'lo\r', // between the CR and the LF after the data
          '\n1', // in the middle of a size line
          `0;name="quoted;value"\r\n${sixteen.slice(0, 7)}`,
          `${sixteen.slice(7)}\r\n`,
          'A\r\n0123456789\r\n0', // last chunk's size line split from its CRLF
          '\r\nX-Checksum: abc\r\n', // a trailer
          'X-Other: 1\r', // another trailer, split before its LF
          '\n\r\n', // end of trailers; the server then keeps the connection open
        ]);
        allSent = true;
      });
      const response = await streamedGet(server.url);
      assert.equal(response.status, 200);
      const body = await within(readAll(response), 3000, 'the body should end at the blank line after the trailers');
      assert.ok(allSent, 'the body ended only after the blank line that ends the trailers');
      assert.equal(body.toString(), `hello${sixteen}0123456789`);
      assert.equal(response.headers['x-checksum'], undefined, 'trailers are not response headers');
    });

    it('decodes a chunked response (head included) sent one byte per TCP write', async () => {
      const server = await rawServer(({ socket }) =>
        sendPieces(socket, byteByByte(`${head('200 OK', 'Transfer-Encoding: chunked')}3;a=b\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n`), 2),
      );
      const response = await streamedGet(server.url);
      assert.equal(response.status, 200);
      assert.equal((await within(readAll(response), 5000, 'the chunked body should end')).toString(), 'abcde');
    });

    it('reads a body delimited by the end of the connection (no Content-Length, no Transfer-Encoding)', async () => {
      const content = randomBytes(200_000);
      const server = await rawServer(async ({ socket }) => {
        await sendPieces(socket, ['HTTP/1.1 200\r\nContent-Type: text/csv\r\n\r\n', content.subarray(0, 1000), content.subarray(1000)]);
        socket.end();
      });
      const response = await streamedGet(server.url, { bufferBytes: 4096 });
      assert.equal(response.status, 200, 'a status line without a reason phrase is fine');
      const body = await readAll(response);
      assert.equal(sha(body), sha(content), `got ${body.length} of ${content.length} bytes`);
    });

    it('skips an interim 103 Early Hints head and returns the real 200 that follows in a later write', async () => {
      const server = await rawServer(({ socket }) =>
        sendPieces(socket, [
          head('103 Early Hints', 'Link: </style.css>; rel=preload'),
          `${head('200 OK', 'Content-Length: 5', 'Content-Type: text/plain')}hello`,
        ]),
      );
      const response = await streamedGet(server.url);
      assert.equal(response.status, 200);
      assert.equal(response.headers.link, undefined, 'headers of the interim head are not kept');
      assert.equal(response.headers['content-type'], 'text/plain');
      assert.equal((await readAll(response)).toString(), 'hello');
    });

    it('skips an interim 103 head that arrives in the same write as the real head and body', async () => {
      const server = await rawServer(({ socket }) => {
        socket.write(`${head('103 Early Hints', 'Link: </a.js>; rel=preload')}${head('200 OK', 'Content-Length: 3')}abc`);
      });
      const response = await streamedGet(server.url);
      assert.equal(response.status, 200);
      assert.equal((await readAll(response)).toString(), 'abc');
    });

    for (const [status, lines] of [
      ['204 No Content', []],
      ['304 Not Modified', ['Content-Length: 1234', 'ETag: "x"']],
    ] as const) {
      it(`${status}: readBody resolves at once with no bytes although the server keeps the connection open`, async () => {
        const server = await rawServer(({ socket }) => {
          socket.write(head(status, ...lines));
        });
        const response = await streamedGet(server.url);
        assert.equal(response.status, Number(status.slice(0, 3)));
        const reading = startReading(response);
        await within(reading.done, 1000, 'readBody should resolve without waiting for the server');
        assert.equal(reading.chunks.length, 0);
        await within(server.connections[0].closed, 2000, 'the client should close the connection');
      });
    }
  });

  describe('requests and redirects', () => {
    it('sends the request line, Host, Connection: close, Accept-Encoding: identity and the given headers', async () => {
      const server = await rawServer(({ socket }) => {
        socket.end(`${head('206 Partial Content', 'Content-Range: bytes 5-9/10', 'Content-Length: 5')}56789`);
      });
      const response = await streamedGet(`${server.url}/files/train.csv?expires=1&sig=a%2Bb`, {
        headers: { Range: 'bytes=5-', 'If-Range': '"abc"' },
      });
      assert.equal(response.status, 206);
      assert.equal(response.headers['content-range'], 'bytes 5-9/10');
      assert.equal((await readAll(response)).toString(), '56789');
      const [requestLine, ...lines] = server.connections[0].request.split('\r\n');
      assert.equal(requestLine, 'GET /files/train.csv?expires=1&sig=a%2Bb HTTP/1.1');
      assert.deepEqual(lines, [`Host: 127.0.0.1:${server.port}`, 'Connection: close', 'Accept-Encoding: identity', 'Range: bytes=5-', 'If-Range: "abc"']);
    });

    it('rejects a header value containing CR/LF before connecting', async () => {
      const server = await rawServer(({ socket }) => {
        socket.end(`${head('200 OK', 'Content-Length: 0')}`);
      });
      await assert.rejects(streamedGet(server.url, { headers: { 'X-Evil': 'a\r\nInjected: 1' } }), /line break/);
      await assert.rejects(streamedGet(server.url, { headers: { 'X-Evil\n': 'a' } }), /line break/);
      await sleep(50);
      assert.equal(server.accepted, 0, 'no connection was opened');
    });

    it('follows a 302 with a relative Location and returns the final response', async () => {
      const seen: string[] = [];
      const server = await httpServer((req, res) => {
        seen.push(req.url ?? '');
        if (req.url === '/files/start') {
          res.writeHead(302, { location: 'next?step=2', 'content-length': 9 });
          res.end('moved...\n');
        } else if (req.url === '/files/next?step=2') {
          res.writeHead(301, { location: '/elsewhere/final' });
          res.end();
        } else {
          res.writeHead(200, { 'content-length': 7 });
          res.end('arrived');
        }
      });
      const response = await streamedGet(`${server.url}/files/start`);
      assert.equal(response.status, 200);
      assert.equal((await readAll(response)).toString(), 'arrived');
      assert.deepEqual(seen, ['/files/start', '/files/next?step=2', '/elsewhere/final']);
    });

    it('follows 5 redirects but rejects the 6th with a message naming redirects', async () => {
      const seen: string[] = [];
      // /hops/<total>/<n> redirects to /hops/<total>/<n+1> until n = total, which answers 200.
      const server = await httpServer((req, res) => {
        seen.push(req.url ?? '');
        const [, total, n] = /^\/hops\/(\d+)\/(\d+)$/.exec(req.url ?? '') ?? [];
        if (Number(n) < Number(total)) {
          res.writeHead(307, { location: `/hops/${total}/${Number(n) + 1}` });
          res.end();
        } else {
          res.writeHead(200, { 'content-length': 2 });
          res.end('ok');
        }
      });
      const five = await streamedGet(`${server.url}/hops/5/0`);
      assert.equal(five.status, 200);
      assert.equal((await readAll(five)).toString(), 'ok');
      assert.equal(seen.length, 6);

      seen.length = 0;
      await assert.rejects(streamedGet(`${server.url}/hops/6/0`), /redirects/);
      assert.deepEqual(seen, ['/hops/6/0', '/hops/6/1', '/hops/6/2', '/hops/6/3', '/hops/6/4', '/hops/6/5']);
    });

    it('returns a redirect status without a Location as it is', async () => {
      const server = await rawServer(({ socket }) => {
        socket.end(`${head('302 Found', 'Content-Length: 4')}none`);
      });
      const response = await streamedGet(server.url);
      assert.equal(response.status, 302);
      assert.equal((await readAll(response)).toString(), 'none');
    });
  });

  describe('network and protocol failures', () => {
    it('rejects readBody with ECONNRESET when the server closes midway through a Content-Length body; the callback got only the prefix', async () => {
      const content = randomBytes(100_000);
      const sent = 40_000;
      const server = await rawServer(({ socket }) => {
        socket.write(head('200 OK', `Content-Length: ${content.length}`));
        socket.end(content.subarray(0, sent));
      });
      const response = await streamedGet(server.url, { bufferBytes: 4096 });
      const reading = startReading(response);
      await assert.rejects(reading.done, { code: 'ECONNRESET' });
      assert.equal(reading.body().length, sent);
      assert.ok(reading.body().equals(content.subarray(0, sent)), 'what arrived is a prefix of the body');
    });

    it('rejects readBody with ECONNRESET when the server closes before the last chunk of a chunked body', async () => {
      const server = await rawServer(({ socket }) => {
        socket.end(`${head('200 OK', 'Transfer-Encoding: chunked')}5\r\nhello\r\n5\r\nwor`);
      });
      const response = await streamedGet(server.url);
      const reading = startReading(response);
      await assert.rejects(reading.done, { code: 'ECONNRESET' });
      assert.equal(reading.body().toString(), 'hellowor');
    });

    it('rejects with ECONNRESET when the server closes before sending a whole head', async () => {
      const server = await rawServer(({ socket }) => {
        socket.end('HTTP/1.1 200 OK\r\nContent-Le');
      });
      await assert.rejects(streamedGet(server.url), { code: 'ECONNRESET' });
    });

    it('rejects with ECONNREFUSED when nothing listens on the port', async () => {
      const probe = net.createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const { port } = probe.address() as net.AddressInfo;
      await new Promise<void>((resolve) => probe.close(() => resolve()));
      await assert.rejects(streamedGet(`http://127.0.0.1:${port}/file`), { code: 'ECONNREFUSED' });
    });

    it('rejects an unsupported URL scheme', async () => {
      await assert.rejects(streamedGet('ftp://127.0.0.1/file'), /unsupported URL scheme ftp:/);
    });

    for (const [what, response] of [
      ['a status line without a status code', 'HTTP/1.1 OK\r\n\r\n'],
      ['a status line of another protocol', 'SSH-2.0-OpenSSH_9.6\r\n\r\n'],
      ['an HTTP/2-style status line', 'HTTP/2 200\r\n\r\n'],
    ]) {
      it(`rejects ${what} with EPROTO`, async () => {
        const server = await rawServer(({ socket }) => {
          socket.write(response);
        });
        await assert.rejects(streamedGet(server.url), { code: 'EPROTO', message: /not an HTTP\/1\.1 response/ });
      });
    }

    it('rejects a header line without a colon with EPROTO', async () => {
      const server = await rawServer(({ socket }) => {
        socket.write(`${head('200 OK', 'X-Good: 1', 'this line has no colon', 'Content-Length: 0')}`);
      });
      await assert.rejects(streamedGet(server.url), { code: 'EPROTO', message: /malformed response header "this line has no colon"/ });
    });

    it('rejects an invalid Content-Length with EPROTO', async () => {
      const server = await rawServer(({ socket }) => {
        socket.write(`${head('200 OK', 'Content-Length: 12abc')}hello`);
      });
      await assert.rejects(streamedGet(server.url), { code: 'EPROTO', message: /invalid Content-Length/ });
    });

    it('rejects Transfer-Encoding: gzip with EPROTO', async () => {
      const server = await rawServer(({ socket }) => {
        socket.write(`${head('200 OK', 'Transfer-Encoding: gzip')}\x1f\x8b`);
      });
      await assert.rejects(streamedGet(server.url), { code: 'EPROTO', message: /unsupported Transfer-Encoding "gzip"/ });
    });

    it('rejects Transfer-Encoding: gzip, chunked with EPROTO (the chunks would hold gzip bytes, not the body)', async () => {
      const server = await rawServer(({ socket }) => {
        socket.write(`${head('200 OK', 'Transfer-Encoding: gzip, chunked')}2\r\n\x1f\x8b\r\n0\r\n\r\n`);
      });
      await assert.rejects(streamedGet(server.url), { code: 'EPROTO', message: /unsupported Transfer-Encoding/ });
    });

    it('rejects a bad chunk size line and a chunk not ended by CRLF with EPROTO', async () => {
      const badSize = await rawServer(({ socket }) => {
        socket.write(`${head('200 OK', 'Transfer-Encoding: chunked')}zz\r\nhello\r\n0\r\n\r\n`);
      });
      const first = await streamedGet(badSize.url);
      await assert.rejects(
        first.readBody(() => undefined),
        { code: 'EPROTO', message: /bad chunk size line "zz"/ },
      );

      const noCrlf = await rawServer(({ socket }) => {
        socket.write(`${head('200 OK', 'Transfer-Encoding: chunked')}5\r\nhelloXX\r\n0\r\n\r\n`);
      });
      const second = await streamedGet(noCrlf.url);
      const reading = startReading(second);
      await assert.rejects(reading.done, { code: 'EPROTO', message: /does not end with CRLF/ });
      assert.equal(reading.body().toString(), 'hello');
    });

    it('accepts whitespace before the ";" of a chunk extension (RFC 9112 7.1.1 allows BWS there)', async () => {
      const server = await rawServer(({ socket }) => {
        socket.write(`${head('200 OK', 'Transfer-Encoding: chunked')}5 ; x=y\r\nhello\r\n0\r\n\r\n`);
      });
      const response = await streamedGet(server.url);
      assert.equal((await readAll(response)).toString(), 'hello');
    });

    it('rejects a head that grows past 64 KiB without ending with EPROTO (the server keeps sending headers)', async () => {
      const filler = (i: number) => `X-Filler-${String(i).padStart(4, '0')}: ${'a'.repeat(1000)}\r\n`;
      const server = await rawServer(({ socket }) => sendPieces(socket, ['HTTP/1.1 200 OK\r\n', ...Array.from({ length: 80 }, (_, i) => filler(i))], 1));
      await within(
        assert.rejects(streamedGet(server.url, { bufferBytes: 4096 }), { code: 'EPROTO', message: /larger than 64 KiB/ }),
        5000,
        'the client should give up on the head',
      );
    });

    it('rejects with EPROTO a complete head larger than 64 KiB whose end arrives in the read that crosses the limit', async () => {
      // 64,000 bytes of head first (under the limit, no end), then 8,000 more bytes with the end.
      const lines = Array.from({ length: 64 }, (_, i) => `X-Filler-${String(i).padStart(4, '0')}: ${'a'.repeat(984)}\r\n`).join('');
      const start = `HTTP/1.1 200 OK\r\nContent-Length: 2\r\n${lines}`.slice(0, 64_000);
      const end = `\r\nX-Last: ${'b'.repeat(8000)}\r\n\r\nhi`;
      const server = await rawServer(({ socket }) => sendPieces(socket, [start, end], 50));
      await assert.rejects(streamedGet(server.url), { code: 'EPROTO', message: /larger than 64 KiB/ });
    });

    it('rejects with ETIMEDOUT when the server stalls longer than idleTimeoutMs, after the head and before it', async () => {
      const stallsInBody = await rawServer(({ socket }) => {
        socket.write(`${head('200 OK', 'Content-Length: 10')}abc`);
      });
      const response = await streamedGet(stallsInBody.url, { idleTimeoutMs: 200 });
      let received = '';
      await assert.rejects(
        response.readBody((chunk) => {
          received += chunk.toString();
        }),
        { code: 'ETIMEDOUT', message: /no data from the server for 0\.2 s/ },
      );
      assert.equal(received, 'abc');
      await stallsInBody.connections[0].closed;

      const neverAnswers = await rawServer(() => undefined);
      await assert.rejects(streamedGet(neverAnswers.url, { idleTimeoutMs: 200 }), { code: 'ETIMEDOUT' });
    });
  });

  describe('abort signal', () => {
    it('rejects at once with the reason when the signal is already aborted, without connecting', async () => {
      const server = await rawServer(({ socket }) => {
        socket.end(head('200 OK', 'Content-Length: 0'));
      });
      const reason = new Error('aborted before the start');
      const error = await rejectionOf(streamedGet(server.url, { signal: AbortSignal.abort(reason) }));
      assert.equal(error, reason);
      await sleep(50);
      assert.equal(server.accepted, 0, 'no connection was opened');
    });

    it('rejects with the reason when aborted while waiting for the head, and closes the connection', async () => {
      const server = await rawServer(() => undefined); // never answers
      const controller = new AbortController();
      const reason = new Error('gave up waiting');
      const pending = streamedGet(server.url, { signal: controller.signal });
      while (server.connections.length === 0) await sleep(5);
      controller.abort(reason);
      assert.equal(await within(rejectionOf(pending), 1000, 'streamedGet should reject'), reason);
      await within(server.connections[0].closed, 2000, 'the server should see the connection close');
    });

    it('rejects readBody with the reason when aborted while the body is being read, and closes the connection', async () => {
      const content = randomBytes(50_000);
      const server = await rawServer(({ socket }) => {
        socket.write(head('200 OK', `Content-Length: ${1_000_000}`));
        socket.write(content); // then stalls
      });
      const controller = new AbortController();
      const reason = new Error('Ctrl-C');
      const response = await streamedGet(server.url, { signal: controller.signal, bufferBytes: 4096 });
      const reading = startReading(response, (_chunk, index) => {
        if (index === 0) setTimeout(() => controller.abort(reason), 30);
      });
      assert.equal(await within(rejectionOf(reading.done), 2000, 'readBody should reject'), reason);
      assert.ok(reading.body().equals(content.subarray(0, reading.body().length)), 'what arrived is a prefix');
      assert.ok(reading.body().length <= content.length);
      await within(server.connections[0].closed, 2000, 'the server should see the connection close');
    });

    it('rejects readBody with the reason when aborted between the head and readBody', async () => {
      const server = await rawServer(({ socket }) => {
        socket.write(`${head('200 OK', 'Content-Length: 100')}partial`);
      });
      const controller = new AbortController();
      const reason = new Error('stopped early');
      const response = await streamedGet(server.url, { signal: controller.signal });
      controller.abort(reason);
      assert.equal(await within(rejectionOf(response.readBody(() => undefined)), 1000, 'readBody should reject'), reason);
      await within(server.connections[0].closed, 2000, 'the server should see the connection close');
    });
  });

  describe('the response object', () => {
    it('readBody rejects with the very error the callback throws, stops calling it, and closes the connection', async () => {
      const server = await rawServer(({ socket }) => {
        socket.write(head('200 OK', 'Content-Length: 1000000'));
        socket.write(randomBytes(200_000)); // then stalls: only the client can end this
      });
      const response = await streamedGet(server.url, { bufferBytes: 4096 });
      const thrown = new Error('disk full');
      let calls = 0;
      const error = await rejectionOf(
        response.readBody(() => {
          calls += 1;
          if (calls === 3) throw thrown;
        }),
      );
      assert.equal(error, thrown);
      await sleep(30);
      assert.equal(calls, 3, 'the callback is not called after it threw');
      await within(server.connections[0].closed, 2000, 'the server should see the connection close');
    });

    it('text() returns the body as utf8', async () => {
      const server = await httpServer((_req, res) => {
        res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('signature expired – réessayez ✓\n');
      });
      const response = await streamedGet(server.url);
      assert.equal(response.status, 403);
      assert.equal(await response.text(), 'signature expired – réessayez ✓\n');
    });

    it('text() keeps only limitBytes bytes (64 KiB by default) and still reads to the end', async () => {
      const server = await httpServer((req, res) => {
        const body = req.url === '/short' ? 'hello world' : 'x'.repeat(200_000);
        res.writeHead(200, { 'content-length': body.length });
        res.end(body);
      });
      assert.equal(await (await streamedGet(`${server.url}/short`)).text(5), 'hello');
      const long = await (await streamedGet(`${server.url}/long`, { bufferBytes: 4096 })).text();
      assert.equal(long.length, 64 * 1024);
      assert.equal(long, 'x'.repeat(64 * 1024));
    });

    it('discard() closes the connection and does not throw', async () => {
      const server = await rawServer(({ socket }) => {
        socket.write(`${head('200 OK', 'Content-Length: 100000')}some bytes`); // then stalls
      });
      const response = await streamedGet(server.url);
      assert.doesNotThrow(() => response.discard());
      assert.doesNotThrow(() => response.discard(), 'a second discard() is harmless');
      await within(server.connections[0].closed, 2000, 'the server should see the connection close');
    });

    it('readBody after discard() settles instead of hanging', async () => {
      const server = await rawServer(({ socket }) => {
        socket.write(`${head('200 OK', 'Content-Length: 100000')}some bytes`);
      });
      const response = await streamedGet(server.url);
      response.discard();
      const chunks: Buffer[] = [];
      await within(
        response.readBody((chunk) => chunks.push(Buffer.from(chunk))).catch(() => undefined),
        1000,
        'readBody after discard() should settle',
      );
    });

    it('readBody called a second time rejects, and the first call still gets the whole body', async () => {
      const server = await rawServer(({ socket }) => sendPieces(socket, [head('200 OK', 'Content-Length: 6'), 'abc', 'def']));
      const response = await streamedGet(server.url);
      const first = startReading(response);
      await assert.rejects(
        response.readBody(() => undefined),
        /already called/,
      );
      await first.done;
      assert.equal(first.body().toString(), 'abcdef');
      await assert.rejects(
        response.readBody(() => undefined),
        /already called/,
      );
      await assert.rejects(response.text(), /already called/);
    });
  });

  describe('https', () => {
    // A self-signed certificate for localhost and 127.0.0.1, made for these tests only.
    const tlsDir = path.join(__dirname, '..', 'fixtures', 'tls');
    const cert = readFileSync(path.join(tlsDir, 'localhost-cert.pem'));
    const key = readFileSync(path.join(tlsDir, 'localhost-key.pem'));

    const httpsServer = (listener: http.RequestListener) => listening(https.createServer({ key, cert }, listener), 'https://localhost');

    it('keeps the bytes TLS decrypts while the response waits for readBody (Content-Length and close-delimited)', async () => {
      const body = randomBytes(3 * 1024 * 1024 + 7);
      const withLength = await httpsServer((_req, res) => {
        res.setHeader('content-length', body.length);
        res.end(body);
      });
      const response = await streamedGet(`${withLength.url}/file`, { ca: cert });
      assert.equal(response.status, 200);
      await sleep(50);
      assert.equal(sha(await readAll(response)), sha(body));

      const untilClose = await httpsServer((_req, res) => {
        res.useChunkedEncodingByDefault = false; // no length, no chunks: the body ends with the connection
        res.setHeader('connection', 'close');
        res.end(body);
      });
      const closing = await streamedGet(`${untilClose.url}/file`, { ca: cert });
      assert.equal(closing.headers['content-length'], undefined);
      assert.equal(closing.headers['transfer-encoding'], undefined);
      await sleep(50);
      assert.equal(sha(await readAll(closing)), sha(body));
    });

    it('refuses a certificate it does not trust', async () => {
      const server = await httpsServer((_req, res) => res.end('x'));
      await assert.rejects(streamedGet(server.url), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    });
  });

  it('discard() while readBody is running rejects it', async () => {
    const server = await rawServer(({ socket }) => {
      socket.write(`${head('200 OK', 'Content-Length: 100000')}some bytes`);
    });
    const response = await streamedGet(server.url);
    const reading = startReading(response, () => response.discard());
    await assert.rejects(reading.done, /discarded while being read/);
  });
});
