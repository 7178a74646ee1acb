import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { GRAPHIQL_CSP, graphiqlAssetsDir, serveGraphiql } from '../../server/http/graphiql';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

describe('GraphiQL page', function () {
  let server: Server;
  let port: number;

  // node:http rather than fetch: fetch would normalize "/graphiql/../x" before sending it.
  function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }

  function assetsOf(html: string): string[] {
    return [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((url) => !url.startsWith('data:'));
  }

  before(async function () {
    const dir = graphiqlAssetsDir();
    if (!existsSync(join(dir, 'index.html'))) {
      this.timeout(180_000);
      await promisify(execFile)(process.execPath, ['scripts/build-graphiql.mjs'], { cwd: dirname(dirname(dir)) });
    }
    server = createServer((req, res) => {
      serveGraphiql(req, res).then(
        (handled) => {
          if (handled) return;
          res.statusCode = 404;
          res.setHeader('X-Handled-By', 'api');
          res.end();
        },
        (err: unknown) => {
          res.statusCode = 500;
          res.end(String(err));
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(async function () {
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  });

  it('serves the HTML page with a strict Content-Security-Policy to a browser opening /graphql', async function () {
    const reply = await get('/graphql', { accept: BROWSER_ACCEPT });
    assert.equal(reply.status, 200);
    assert.match(String(reply.headers['content-type']), /^text\/html/);
    assert.equal(reply.headers['content-security-policy'], GRAPHIQL_CSP);
    assert.match(GRAPHIQL_CSP, /default-src 'none'/);
    assert.match(GRAPHIQL_CSP, /script-src 'self'(;|$)/);
    assert.match(GRAPHIQL_CSP, /connect-src 'self' ws: wss:/);
    assert.equal(reply.headers['cache-control'], 'no-cache');
    assert.match(reply.body, /<title>Marketplace GraphiQL<\/title>/);
  });

  it('serves every script and stylesheet the page references with its content type and a long cache life', async function () {
    const { body } = await get('/graphql', { accept: BROWSER_ACCEPT });
    const assets = assetsOf(body);
    assert.ok(assets.some((url) => url.endsWith('.js')) && assets.some((url) => url.endsWith('.css')), body);
    for (const url of assets) {
      const reply = await get(url);
      assert.equal(reply.status, 200, url);
      const type = url.endsWith('.js') ? /^text\/javascript/ : /^text\/css/;
      assert.match(String(reply.headers['content-type']), type, url);
      assert.match(String(reply.headers['cache-control']), /immutable/, url);
    }
  });

  it('serves the three Monaco workers the page bundle points at', async function () {
    const { body } = await get('/graphql', { accept: BROWSER_ACCEPT });
    const script = assetsOf(body).find((url) => url.endsWith('.js'));
    assert.ok(script);
    const bundle = (await get(script)).body;
    const workers = [...new Set(bundle.match(/\/graphiql\/[\w.-]+\.worker-[A-Z2-7]{8}\.js(?=["'`])/g))];
    assert.deepEqual(workers.map((url) => url.replace(/^\/graphiql\/|\.worker-.*$/g, '')).sort(), ['editor', 'graphql', 'json']);
    for (const url of workers) {
      const reply = await get(url);
      assert.equal(reply.status, 200, url);
      assert.match(String(reply.headers['content-type']), /^text\/javascript/, url);
    }
  });

  it('makes the browser fetch nothing from another host', async function () {
    const { body } = await get('/graphql', { accept: BROWSER_ACCEPT });
    assert.doesNotMatch(body, /https?:\/\//);
    for (const url of assetsOf(body)) assert.match(url, /^\/graphiql\//);
  });

  it('refuses paths that try to leave the assets directory with 404', async function () {
    for (const path of ['/graphiql/../package.json', '/graphiql/..%2Fpackage.json', '/graphiql/%2e%2e/package.json']) {
      const reply = await get(path);
      assert.equal(reply.status, 404, path);
      assert.equal(reply.headers['x-handled-by'], undefined, path);
    }
  });

  it('answers 404 for an asset that does not exist', async function () {
    const reply = await get('/graphiql/missing-AAAAAAAA.js');
    assert.equal(reply.status, 404);
    assert.equal(reply.headers['x-handled-by'], undefined);
  });

  it('leaves API requests on /graphql to the GraphQL server', async function () {
    const query = `/graphql?query=${encodeURIComponent('{ __typename }')}`;
    const cases: Array<[string, Record<string, string>, string?]> = [
      [query, { accept: 'application/json' }],
      [query, { accept: 'application/graphql-response+json, application/json;q=0.9' }],
      [query, {}],
      [query, { accept: '*/*' }],
      ['/graphql', { accept: BROWSER_ACCEPT, 'content-type': 'application/json' }, 'POST'],
    ];
    for (const [path, headers, method] of cases) {
      const reply = await get(path, headers, method);
      assert.equal(reply.headers['x-handled-by'], 'api', `${method ?? 'GET'} ${path} ${JSON.stringify(headers)}`);
    }
  });
});
