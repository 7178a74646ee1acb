import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WhoamiDocument } from '../../generated/cli-operations';
import { GraphQLClient } from '../../cli/client';
import { CliError, ExitCode } from '../../cli/errors';

type Handler = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void;

/** A real HTTP server on port 0 whose behaviour each test sets. */
async function startServer(handler: Handler): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port that was just free: connecting to it is refused. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

const me = {
  role: 'VENDOR',
  vendor: { id: 'ven_1', handle: 'acme', displayName: 'Acme', email: null, status: 'ACTIVE', createdAt: '2026-01-01T00:00:00Z' },
  apiKey: { id: 'key_1', name: 'laptop', prefix: 'vk_abc', expiresAt: null, lastUsedAt: null },
};

async function rejection(promise: Promise<unknown>): Promise<CliError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof CliError, `expected a CliError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the request to fail');
}

describe('cli GraphQL client', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  async function serve(handler: Handler): Promise<string> {
    const server = await startServer(handler);
    close = server.close;
    return server.url;
  }

  it('POSTs JSON with the bearer key, a request id and the operation name, and returns data', async () => {
    const seen: Array<{ headers: http.IncomingHttpHeaders; body: string; method?: string }> = [];
    const url = await serve((req, body, res) => {
      seen.push({ headers: req.headers, body, method: req.method });
      sendJson(res, 200, { data: { me } });
    });
    const client = new GraphQLClient({ apiUrl: url, apiKey: 'vk_test' });
    const first = await client.request(WhoamiDocument, {});
    await client.request(WhoamiDocument, {});
    assert.equal(first.me.vendor?.handle, 'acme');
    const [request, second] = seen;
    assert.equal(request.method, 'POST');
    assert.equal(request.headers['content-type'], 'application/json');
    assert.equal(request.headers.authorization, 'Bearer vk_test');
    assert.match(String(request.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    assert.notEqual(request.headers['x-request-id'], second.headers['x-request-id']);
    const body = JSON.parse(request.body) as { query: string; variables: unknown; operationName: string };
    assert.equal(body.operationName, 'Whoami');
    assert.equal(body.query, WhoamiDocument.toString());
    assert.deepEqual(body.variables, {});
  });

  it('sends no Authorization header without a key', async () => {
    let authorization: string | undefined = 'unset';
    const url = await serve((req, _body, res) => {
      authorization = req.headers.authorization;
      sendJson(res, 200, { data: { me } });
    });
    await new GraphQLClient({ apiUrl: url }).request(WhoamiDocument, {});
    assert.equal(authorization, undefined);
  });

  it('turns a GraphQL error into a CliError with the exit code of its extensions.code', async () => {
    const url = await serve((_req, _body, res) =>
      sendJson(res, 200, { data: null, errors: [{ message: 'API key expired', extensions: { code: 'UNAUTHENTICATED' } }] }),
    );
    const error = await rejection(new GraphQLClient({ apiUrl: url, apiKey: 'vk_old' }).request(WhoamiDocument, {}));
    assert.equal(error.exitCode, ExitCode.AUTH);
    assert.equal(error.message, 'API key expired');
  });

  it('maps JSON errors on a 4xx answer too (Apollo uses 400 for invalid requests)', async () => {
    const url = await serve((_req, _body, res) =>
      sendJson(res, 400, { errors: [{ message: 'Variable "$id" is invalid', extensions: { code: 'BAD_USER_INPUT' } }] }),
    );
    const error = await rejection(new GraphQLClient({ apiUrl: url }).request(WhoamiDocument, {}));
    assert.equal(error.exitCode, ExitCode.INVALID);
  });

  it('reports a 404 HTML page as "no marketplace API" with exit 6', async () => {
    const url = await serve((_req, _body, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<html><body>Not Found</body></html>');
    });
    const error = await rejection(new GraphQLClient({ apiUrl: url }).request(WhoamiDocument, {}));
    assert.equal(error.exitCode, ExitCode.UNREACHABLE);
    assert.equal(error.message, `no marketplace API at ${url} (HTTP 404)`);
  });

  it('reports JSON that is not a GraphQL response as "no marketplace API"', async () => {
    const url = await serve((_req, _body, res) => sendJson(res, 200, { hello: 'world' }));
    const error = await rejection(new GraphQLClient({ apiUrl: url }).request(WhoamiDocument, {}));
    assert.equal(error.exitCode, ExitCode.UNREACHABLE);
    assert.match(error.message, /no marketplace API .* \(HTTP 200\)/);
  });

  it('reports a server that closes the socket as unreachable', async () => {
    const url = await serve((req) => req.socket.destroy());
    const error = await rejection(new GraphQLClient({ apiUrl: url }).request(WhoamiDocument, {}));
    assert.equal(error.exitCode, ExitCode.UNREACHABLE);
    assert.match(error.message, /^cannot reach /);
  });

  it('reports a refused connection as unreachable', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/graphql`;
    const error = await rejection(new GraphQLClient({ apiUrl: url }).request(WhoamiDocument, {}));
    assert.equal(error.exitCode, ExitCode.UNREACHABLE);
    assert.equal(error.message, `cannot reach ${url}: connection refused`);
  });

  it('gives up after the timeout', async () => {
    const url = await serve(() => {
      // never answers
    });
    const error = await rejection(new GraphQLClient({ apiUrl: url, timeoutMs: 200 }).request(WhoamiDocument, {}));
    assert.equal(error.exitCode, ExitCode.UNREACHABLE);
    assert.equal(error.message, `cannot reach ${url}: no answer within 0.2 s`);
  });

  it('logs the request id of each call when asked (--verbose)', async () => {
    const url = await serve((_req, _body, res) => sendJson(res, 200, { data: { me } }));
    const lines: string[] = [];
    await new GraphQLClient({ apiUrl: url, log: (line) => lines.push(line) }).request(WhoamiDocument, {});
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^POST .* Whoami \(request id [0-9a-f-]{36}\)$/);
    assert.match(lines[1], /^HTTP 200 in \d+ ms/);
  });
});
