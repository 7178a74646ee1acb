import { getIntrospectionQuery } from 'graphql';
import { crc32 } from 'node:zlib';
import { encodeBase62, randomBase62 } from '../../server/db/ids';
import { TokenFormat } from '../../server/tokens';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, usingPostgres, type TestServer } from '../helpers/server';
import { graphiqlAssetsDir } from '../../server/http/graphiql';
import { apiKeyFormat } from '../../server/modules/identity/api-key-token';
import type { ResultOf } from '@graphql-typed-document-node/core';
import {
  HttpMetricsProbeDocument,
  TestCatalogDocument,
  TestCatalogTotalDocument,
  TestHttpCatalogDocument as CATALOG_QUERY,
  TestMeKeyIdDocument,
  TestMeKeyStatusDocument,
  TestMeRoleAndHandleDocument,
  TestMeRoleDocument,
  TestServerInfoDocument,
  type TypedDocumentString,
} from '../../generated/test-operations';

/** What the server answered, with the body both as text (for "never contains") and parsed. */
interface Reply {
  status: number;
  headers: Headers;
  text: string;
  body: GraphQLBody;
}

interface GraphQLError {
  message: string;
  path?: string[];
  extensions?: Record<string, unknown> & { code?: string };
}

interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: GraphQLError[];
  [key: string]: unknown;
}

async function send(url: string, init: RequestInit = {}): Promise<Reply> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: GraphQLBody = {};
  if ((response.headers.get('content-type') ?? '').includes('json')) body = JSON.parse(text) as GraphQLBody;
  return { status: response.status, headers: response.headers, text, body };
}

/**
 * POST /graphql with a JSON body (an object is serialized, a typed document in it as its text; a
 * string is sent as it is). Documents that are malformed, introspective or built to hit a limit
 * stay strings: the document itself is what those tests are about.
 */
function post(server: TestServer, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return send(server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** GET /graphql?query=... (add `apollo-require-preflight` yourself when the test wants it). */
function get(server: TestServer, query: TypedDocumentString<unknown, never> | string, headers: Record<string, string> = {}): Promise<Reply> {
  return send(`${server.graphqlUrl}?query=${encodeURIComponent(query.toString())}`, { headers });
}

/**
 * Asserts the status, that every error has `code`, and that one of them says what was
 * wrong (`message`); returns that error.
 */
function assertRefused(reply: Reply, status: number, code: string, message: RegExp): GraphQLError {
  assert.equal(reply.status, status, `expected HTTP ${status}, got ${reply.status}: ${reply.text}`);
  const errors = reply.body.errors;
  assert.ok(Array.isArray(errors) && errors.length > 0, `expected GraphQL errors, got: ${reply.text}`);
  for (const error of errors) assert.equal(error.extensions?.code, code, `error code of ${JSON.stringify(error)}`);
  const match = errors.find((error) => message.test(error.message));
  assert.ok(match, `no error message matches ${message}: ${reply.text}`);
  return match;
}

function nested(depth: number, leaf: string): string {
  let selection = leaf;
  for (let i = 0; i < depth; i += 1) selection = `a { ${selection} }`;
  return selection;
}

describe('GraphQL over HTTP', function () {
  let server: TestServer;

  before(async function () {
    server = await startTestServer();
  });

  after(async function () {
    await server?.close();
  });

  describe('queries over POST and GET', function () {
    function assertCatalog(reply: Reply): void {
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.body.errors, undefined, reply.text);
      const { catalog } = reply.body.data as ResultOf<typeof CATALOG_QUERY>;
      assert.ok(catalog.totalCount > 0);
      assert.ok(catalog.nodes.length > 0);
      // The public catalog lists published and deprecated models, never drafts.
      for (const model of catalog.nodes) assert.ok(['PUBLISHED', 'DEPRECATED'].includes(model.status), `${model.slug} is ${model.status}`);
      assert.ok(catalog.nodes.some((model) => model.status === 'PUBLISHED'));
      const handles = new Set(catalog.nodes.map((model) => model.vendor.handle));
      assert.ok(handles.has('demo') && handles.has('quant-collective'), `vendors seen: ${[...handles].join(', ')}`);
    }

    it('answers a catalog query sent as a JSON POST', async function () {
      assertCatalog(await post(server, { query: CATALOG_QUERY }));
    });

    it('answers a catalog query over GET with the apollo-require-preflight header', async function () {
      assertCatalog(await get(server, CATALOG_QUERY, { 'apollo-require-preflight': 'true' }));
    });

    it('answers a catalog query over GET with a JSON content type', async function () {
      assertCatalog(await get(server, CATALOG_QUERY, { 'content-type': 'application/json' }));
    });

    it('refuses a "simple" GET (no preflight header, no JSON content type) with 400 as a possible CSRF', async function () {
      const reply = await get(server, CATALOG_QUERY);
      assertRefused(reply, 400, 'BAD_USER_INPUT', /Cross-Site Request Forgery.*apollo-require-preflight/s);
      assert.equal(reply.body.data, undefined);
    });

    it('refuses a mutation over GET with 405 and does not run it', async function () {
      const vendor = await server.createVendor();
      const me = await server.graphql(TestMeKeyIdDocument, {}, vendor.apiKey);
      const keyId = me.data?.me.apiKey.id;
      assert.ok(keyId, JSON.stringify(me));

      // A string: a mutation sent over GET, which carries no variables (the server must refuse it).
      const reply = await get(server, `mutation { revokeApiKey(id: "${keyId}") { id status } }`, {
        'apollo-require-preflight': 'true',
        authorization: `Bearer ${vendor.apiKey}`,
      });
      assertRefused(reply, 405, 'BAD_USER_INPUT', /GET requests only support query operations, not mutation/);
      assert.match(reply.headers.get('allow') ?? '', /POST/);

      const after = await server.graphql(TestMeKeyStatusDocument, {}, vendor.apiKey);
      assert.equal(after.status, 200);
      assert.equal(after.data?.me.apiKey.status, 'ACTIVE');
    });

    it('refuses other methods on /graphql with 405 and names the allowed ones', async function () {
      const reply = await send(server.graphqlUrl, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
      assertRefused(reply, 405, 'BAD_USER_INPUT', /method PUT is not allowed.*POST/);
      assert.equal(reply.headers.get('allow'), 'GET, POST, OPTIONS');
    });
  });

  describe('malformed requests', function () {
    it('refuses a malformed JSON body with 400 BAD_USER_INPUT saying the JSON is malformed', async function () {
      const reply = await post(server, '{"query": "{ serverInfo { version } }"');
      assertRefused(reply, 400, 'BAD_USER_INPUT', /malformed JSON body/);
    });

    it('refuses a query that is not GraphQL with 400 BAD_USER_INPUT and the syntax error', async function () {
      const reply = await post(server, { query: 'hello' });
      assertRefused(reply, 400, 'BAD_USER_INPUT', /Syntax Error: Unexpected Name "hello"/);
    });

    it('refuses an unknown field with 400 BAD_USER_INPUT naming the field and suggesting the right one (development)', async function () {
      const reply = await post(server, { query: '{ catalg { totalCount } }' });
      const error = assertRefused(reply, 400, 'BAD_USER_INPUT', /Cannot query field "catalg" on type "Query"/);
      assert.match(error.message, /Did you mean "catalog"\?/);
    });

    it('refuses a batched (array) body with 400 saying batching is off', async function () {
      const reply = await post(server, [{ query: TestServerInfoDocument }, { query: TestServerInfoDocument }]);
      assertRefused(reply, 400, 'BAD_USER_INPUT', /batching disabled/i);
      assert.equal(reply.body.data, undefined);
    });
  });

  describe('query limits', function () {
    it('refuses a query nested deeper than MP_MAX_DEPTH (12) with 400 BAD_USER_INPUT naming the limit', async function () {
      const reply = await post(server, { query: `{ ${nested(14, 'x')} }` });
      assertRefused(reply, 400, 'BAD_USER_INPUT', /^Query is nested too deeply \(at most 12 levels\)/);
    });

    it('refuses an alias bomb (50 aliases of serverInfo) with 400 BAD_USER_INPUT naming the alias limit', async function () {
      const aliases = Array.from({ length: 50 }, (_, i) => `a${i}: serverInfo { version }`).join(' ');
      const reply = await post(server, { query: `{ ${aliases} }` });
      assertRefused(reply, 400, 'BAD_USER_INPUT', /^Query uses too many aliases \(at most 30\)/);
    });

    it('refuses catalog(first: 100000) with 400 BAD_USER_INPUT before running it (the cost limit)', async function () {
      const reply = await post(server, { query: '{ catalog(first: 100000) { totalCount nodes { slug } } }' });
      assertRefused(reply, 400, 'BAD_USER_INPUT', /^Query is too expensive \(cost limit 20000\)/);
      assert.equal(reply.body.data, undefined);
    });

    it('refuses catalog(first: $n) with n = 100000 as BAD_USER_INPUT whose extensions.fields names first', async function () {
      const reply = await post(server, { query: 'query Big($n: Int) { catalog(first: $n) { totalCount } }', variables: { n: 100000 } });
      const error = assertRefused(reply, 200, 'BAD_USER_INPUT', /first: must be between 1 and 100 \(got 100000\)/);
      assert.deepEqual(error.path, ['catalog']);
      const fields = error.extensions?.fields as { field: string; message: string }[];
      assert.deepEqual(
        fields.map((problem) => problem.field),
        ['first'],
      );
      assert.match(fields[0].message, /between 1 and 100/);
      assert.equal(reply.body.data, null);
    });

    it('refuses a document over the token limit (MP_MAX_TOKENS, 5000) with 400 BAD_USER_INPUT naming the limit', async function () {
      const fields = Array.from({ length: 6000 }, (_, i) => `f${i}`).join(' ');
      const reply = await post(server, { query: `{ ${fields} }` });
      assertRefused(reply, 400, 'BAD_USER_INPUT', /more that 5000 tokens/);
    });
  });

  describe('request body limit', function () {
    it('refuses a 10 MB body with 413 naming the limit, and keeps serving afterwards', async function () {
      const body = JSON.stringify({ query: TestServerInfoDocument, variables: { padding: 'x'.repeat(10 * 1024 * 1024) } });
      const reply = await post(server, body);
      assertRefused(reply, 413, 'BAD_USER_INPUT', /request body is larger than 1 MiB \(the limit is set by MP_BODY_LIMIT_BYTES\)/);
      assert.equal(reply.headers.get('connection'), 'close');

      const next = await post(server, { query: TestServerInfoDocument });
      assert.equal(next.status, 200, next.text);
      assert.equal(typeof (next.body.data as ResultOf<typeof TestServerInfoDocument>).serverInfo.version, 'string');
    });

    it('refuses a streamed 10 MB body without a Content-Length with 413 once it passes the limit', async function () {
      const chunk = new Uint8Array(64 * 1024).fill(0x20);
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= 10 * 1024 * 1024) return controller.close();
          sent += chunk.length;
          controller.enqueue(chunk);
        },
      });
      const reply = await send(server.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      assertRefused(reply, 413, 'BAD_USER_INPUT', /larger than 1 MiB/);

      const next = await post(server, { query: TestServerInfoDocument });
      assert.equal(next.status, 200, next.text);
    });
  });

  describe('API keys', function () {
    it('answers `me` without a key with UNAUTHENTICATED saying a key is required', async function () {
      const reply = await post(server, { query: TestMeRoleDocument });
      assertRefused(reply, 200, 'UNAUTHENTICATED', /an API key is required/);
      assert.equal(reply.body.data, null);
    });

    it('refuses a key with a bad checksum with 401 UNAUTHENTICATED saying "checksum", without echoing the key', async function () {
      const { apiKey } = await server.createVendor();
      const last = apiKey.at(-1);
      const tampered = apiKey.slice(0, -1) + (last === 'A' ? 'B' : 'A');
      const reply = await post(server, { query: TestMeRoleDocument }, { authorization: `Bearer ${tampered}` });
      assertRefused(reply, 401, 'UNAUTHENTICATED', /checksum/);
      assert.match(reply.headers.get('www-authenticate') ?? '', /^Bearer /);
      assert.ok(!reply.text.includes(tampered), 'the body contains the presented key');
      assert.ok(!reply.text.includes(tampered.slice(16, 48)), 'the body contains the secret part of the key');
    });

    it('refuses a well-formed key that does not exist with 401 UNAUTHENTICATED, without echoing the key', async function () {
      const { token } = apiKeyFormat.generate();
      const reply = await post(server, { query: TestMeRoleDocument }, { authorization: `Bearer ${token}` });
      assertRefused(reply, 401, 'UNAUTHENTICATED', /invalid API key: no key matches it/);
      assert.ok(!reply.text.includes(token), 'the body contains the presented key');
      assert.ok(!reply.text.includes(token.slice(16, 48)), 'the body contains the secret part of the key');
    });

    it('answers a wrong secret for an existing key exactly as a key that does not exist', async function () {
      const { apiKey } = await server.createVendor();
      const lookup = apiKey.split('_')[1];
      const body = `vk_${lookup}_${randomBase62(TokenFormat.lengths.secret)}`;
      const wrongSecret = body + encodeBase62(crc32(body), TokenFormat.lengths.checksum);
      const wrong = await post(server, { query: TestMeRoleDocument }, { authorization: `Bearer ${wrongSecret}` });
      const unknown = await post(server, { query: TestMeRoleDocument }, { authorization: `Bearer ${apiKeyFormat.generate().token}` });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.text, unknown.text);
    });

    it('refuses something that is not a marketplace key with 401 saying keys start with vk_', async function () {
      const reply = await post(server, { query: TestMeRoleDocument }, { authorization: 'Bearer ghp_notours' });
      assertRefused(reply, 401, 'UNAUTHENTICATED', /not a marketplace API key \(keys start with vk_\)/);
      assert.ok(!reply.text.includes('ghp_notours'));
    });

    it('accepts a valid vendor key', async function () {
      const { apiKey, handle } = await server.createVendor();
      const reply = await post(server, { query: TestMeRoleAndHandleDocument }, { authorization: `Bearer ${apiKey}` });
      assert.equal(reply.status, 200, reply.text);
      assert.deepEqual(reply.body.data, { me: { role: 'VENDOR', vendor: { handle } } });
    });
  });

  describe('request ids', function () {
    it("echoes the client's X-Request-Id", async function () {
      const reply = await post(server, { query: TestServerInfoDocument }, { 'x-request-id': 'client-req.42:a_b' });
      assert.equal(reply.status, 200);
      assert.equal(reply.headers.get('x-request-id'), 'client-req.42:a_b');
    });

    it('replaces a garbage X-Request-Id with a fresh one', async function () {
      const garbage = 'not ok <script> ' + 'x'.repeat(200);
      const reply = await post(server, { query: TestServerInfoDocument }, { 'x-request-id': garbage });
      assert.equal(reply.status, 200);
      const id = reply.headers.get('x-request-id') ?? '';
      assert.notEqual(id, garbage);
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    });

    it('gives every request an id, also on other routes', async function () {
      const reply = await send(`${server.url}/healthz`);
      assert.match(reply.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    });
  });

  describe('introspection', function () {
    it('answers __schema by default (NODE_ENV=test)', async function () {
      const reply = await post(server, { query: '{ __schema { types { name } } }' });
      assert.equal(reply.status, 200, reply.text);
      const types = (reply.body.data?.__schema as { types: { name: string }[] }).types.map((type) => type.name);
      assert.ok(types.includes('CatalogModel'));
    });

    it("answers the standard introspection query (GraphiQL's and codegen's) whole", async function () {
      const reply = await post(server, { query: getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true }) });
      assert.equal(reply.status, 200, reply.text.slice(0, 300));
      assert.ok((reply.body.data?.__schema as { types: unknown[] }).types.length > 50);
    });

    it('refuses introspection nested into a huge answer with 400 BAD_USER_INPUT, fragments followed', async function () {
      // Each level of list fields returns the whole schema again; this one is 6 deep.
      const nested = '{ __schema { types { fields { type { fields { type { fields { type { interfaces { fields { name } } } } } } } } } } }';
      const reply = await post(server, { query: nested });
      assertRefused(reply, 400, 'BAD_USER_INPUT', /Introspection query is nested too deeply \(6 levels of list fields; at most 4\)/);
      // graphql-js's own rule counts only fields, interfaces, possibleTypes and inputFields: this one it lets through.
      const viaFragment = `{ __schema { types { ...Deep } } } fragment Deep on __Type { fields { args { type { fields { args { name } } } } } }`;
      assertRefused(await post(server, { query: viaFragment }), 400, 'BAD_USER_INPUT', /nested too deeply \(5 levels/);
    });
  });

  describe('operational endpoints', function () {
    it('answers /healthz with 200 {status: "ok"}', async function () {
      const reply = await send(`${server.url}/healthz`);
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.body, { status: 'ok' });
    });

    it('answers /readyz with 200 and the database kind', async function () {
      const reply = await send(`${server.url}/readyz`);
      assert.equal(reply.status, 200, reply.text);
      assert.deepEqual(reply.body, { status: 'ready', database: usingPostgres ? 'postgres' : 'embedded' });
    });

    it('exposes Prometheus metrics with the operation name of a named query', async function () {
      const probe = await post(server, { query: HttpMetricsProbeDocument });
      assert.equal(probe.status, 200);
      const reply = await send(`${server.url}/metrics`);
      assert.equal(reply.status, 200);
      assert.match(reply.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      assert.match(reply.text, /^# TYPE mp_graphql_requests_total counter$/m);
      assert.match(reply.text, /^mp_graphql_requests_total\{operation="HttpMetricsProbe",type="query",outcome="ok"\} 1$/m);
      assert.match(reply.text, /^# TYPE mp_graphql_request_duration_seconds histogram$/m);
      assert.match(reply.text, /^mp_graphql_request_duration_seconds_count\{operation="HttpMetricsProbe"\} 1$/m);
      assert.match(reply.text, /^mp_websocket_connections \d+$/m);
      assert.match(reply.text, /^mp_db_pool_connections\{state="total"\} \d+$/m);
    });

    it('answers an unknown path with 404 JSON pointing at /graphql', async function () {
      const reply = await send(`${server.url}/no/such/route`);
      assert.equal(reply.status, 404);
      assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
      assert.match(String(reply.body.error), /no route \/no\/such\/route.*\/graphql/);
    });
  });

  describe('GraphiQL', function () {
    it('serves the GraphiQL HTML page to a GET /graphql that accepts text/html', async function () {
      if (!existsSync(join(graphiqlAssetsDir(), 'index.html'))) this.skip();
      const reply = await send(server.graphqlUrl, { headers: { accept: 'text/html' } });
      assert.equal(reply.status, 200);
      assert.match(reply.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(reply.text, /<title>Marketplace GraphiQL<\/title>/);
    });
  });

  it('answers a subscription sent over HTTP with 400 BAD_USER_INPUT saying to use the WebSocket', async function () {
    const reply = await post(server, { query: 'subscription { serverTime(intervalSeconds: 1) { sequence } }' });
    assertRefused(reply, 400, 'BAD_USER_INPUT', /WebSocket|ws:/);
  });

  describe('text the database cannot hold', function () {
    it('refuses a NUL character or a lone surrogate in a variable with 400 BAD_USER_INPUT naming where', async function () {
      for (const [search, problem] of [
        ['momentum\u0000', /NUL character/],
        ['half \ud83d pair', /surrogate/],
      ] as const) {
        const reply = await post(server, { query: TestCatalogDocument, variables: { filter: { search } } });
        assertRefused(reply, 400, 'BAD_USER_INPUT', problem);
        const fields = (reply.body.errors?.[0].extensions as { fields?: { field: string }[] }).fields;
        assert.deepEqual(
          fields?.map((field) => field.field),
          ['filter.search'],
        );
        assert.ok(!reply.text.includes('stack'), reply.text);
      }
      const whole = await post(server, { query: TestCatalogDocument, variables: { filter: { search: 'emoji \ud83d\ude00 fine' } } });
      assert.equal(whole.status, 200, whole.text);
    });

    it('refuses the same in a string literal of the document, naming the argument', async function () {
      const reply = await post(server, { query: '{ catalogModel(slug: "demo/\\u0000") { id } }' });
      assertRefused(reply, 400, 'BAD_USER_INPUT', /argument slug contains a NUL character/);
    });
  });

  describe('unexpected errors', function () {
    let broken: TestServer;

    before(async function () {
      broken = await startTestServer();
      await broken.database.close();
    });

    after(async function () {
      // The database is already closed; closing the embedded one again reports "PGlite is closed".
      await broken?.close().catch((error: unknown) => {
        if (!/PGlite is closed/.test(String(error))) throw error;
      });
    });

    it('reports a failing database as INTERNAL with the x-request-id and no stack or detail', async function () {
      const reply = await post(broken, { query: TestCatalogTotalDocument, variables: { first: 2 } });
      const error = assertRefused(reply, 200, 'INTERNAL', /^Internal server error \(request id [^)]+\)/);
      const requestId = reply.headers.get('x-request-id');
      assert.ok(requestId);
      assert.equal(error.extensions?.requestId, requestId);
      assert.ok(error.message.includes(requestId));
      assert.deepEqual(Object.keys(error.extensions ?? {}).sort(), ['code', 'requestId']);
      assert.doesNotMatch(reply.text, /stacktrace|\bat .*\(|node_modules|\.ts:\d+|Driver|PGlite|connect/i);
    });

    it('keeps /healthz at 200 while /readyz answers 503 saying the database is unreachable', async function () {
      const health = await send(`${broken.url}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(health.body, { status: 'ok' });
      const ready = await send(`${broken.url}/readyz`);
      assert.equal(ready.status, 503);
      assert.equal(ready.body.status, 'not ready');
      assert.match(String(ready.body.reason), /database unreachable/);
    });
  });

  describe('in production with MP_CORS_ORIGINS=https://app.example', function () {
    let production: TestServer;

    before(async function () {
      production = await startTestServer({ NODE_ENV: 'production', MP_CORS_ORIGINS: 'https://app.example' });
    });

    after(async function () {
      await production?.close();
    });

    it('refuses an unknown field without a "Did you mean" hint', async function () {
      const reply = await post(production, { query: '{ catalg { totalCount } }' });
      const error = assertRefused(reply, 400, 'BAD_USER_INPUT', /Cannot query field "catalg" on type "Query"/);
      assert.doesNotMatch(error.message, /Did you mean/);
      assert.doesNotMatch(reply.text, /Did you mean/);
    });

    it('answers a preflight from the allowed origin with 204 and Access-Control-Allow-Origin', async function () {
      const reply = await send(production.graphqlUrl, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
      });
      assert.equal(reply.status, 204);
      assert.equal(reply.headers.get('access-control-allow-origin'), 'https://app.example');
      assert.match(reply.headers.get('access-control-allow-methods') ?? '', /POST/);
      assert.match(reply.headers.get('access-control-allow-headers') ?? '', /authorization/);
      assert.match(reply.headers.get('access-control-allow-headers') ?? '', /content-type/);
    });

    it('refuses a preflight from another origin with 403, no allow-origin header and a message naming MP_CORS_ORIGINS', async function () {
      const reply = await send(production.graphqlUrl, {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
      });
      assert.equal(reply.status, 403);
      assert.equal(reply.headers.get('access-control-allow-origin'), null);
      assert.match(reply.text, /origin not allowed \(MP_CORS_ORIGINS\)/);
    });

    it('adds Access-Control-Allow-Origin to responses for the allowed origin only', async function () {
      const allowed = await post(production, { query: TestServerInfoDocument }, { origin: 'https://app.example' });
      assert.equal(allowed.status, 200);
      assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.example');
      const other = await post(production, { query: TestServerInfoDocument }, { origin: 'https://evil.example' });
      assert.equal(other.headers.get('access-control-allow-origin'), null);
    });

    it('refuses introspection by default', async function () {
      const reply = await post(production, { query: '{ __schema { types { name } } }' });
      assertRefused(reply, 400, 'BAD_USER_INPUT', /introspection/i);
      assert.equal(reply.body.data, undefined);
    });
  });

  describe('with MP_INTROSPECTION=false, MP_BODY_LIMIT_BYTES=4096 and MP_MAX_DEPTH=4', function () {
    let limited: TestServer;

    before(async function () {
      limited = await startTestServer({ MP_INTROSPECTION: 'false', MP_BODY_LIMIT_BYTES: '4096', MP_MAX_DEPTH: '4' });
    });

    after(async function () {
      await limited?.close();
    });

    it('refuses { __schema { types { name } } } with 400 BAD_USER_INPUT saying introspection is disabled', async function () {
      const reply = await post(limited, { query: '{ __schema { types { name } } }' });
      assertRefused(reply, 400, 'BAD_USER_INPUT', /introspection (is not allowed|has been disabled)/);
      assert.equal(reply.body.data, undefined);
    });

    it('refuses a 5 KB body with 413 naming the configured limit', async function () {
      const reply = await post(limited, { query: TestServerInfoDocument, variables: { padding: 'x'.repeat(5000) } });
      assertRefused(reply, 413, 'BAD_USER_INPUT', /larger than 4 KiB/);
    });

    it('refuses a valid query nested five levels deep with 400 naming the depth limit of 4', async function () {
      const reply = await post(limited, { query: '{ catalog { edges { node { vendor { handle } } } } }' });
      assertRefused(reply, 400, 'BAD_USER_INPUT', /^Query is nested too deeply \(at most 4 levels\)/);
    });

    it('still answers a query within the depth limit', async function () {
      // A string like its neighbour's: exactly four levels deep is the point of the document.
      const reply = await post(limited, { query: '{ catalog { nodes { vendor { handle } } } }' });
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.body.errors, undefined);
    });
  });
});
