import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, type Client, type ClientOptions, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import type { ResultOf } from '@graphql-typed-document-node/core';
import { startPeerServer, startTestServer, usingPostgres, type TestServer } from '../helpers/server';
import { apiKeyFormat } from '../../server/modules/identity/api-key-token';
import {
  TestCatalogDocument,
  TestCatalogSlugsDocument,
  TestCreateApiKeyBriefDocument,
  TestMeKeyIdDocument,
  TestMeRoleAndHandleDocument,
  TestReactivateVendorDocument,
  TestRevokeApiKeyStatusDocument,
  TestServerInfoDocument,
  TestServerTimeDocument,
  TestServerTimeSequenceDocument,
  TestSuspendVendorDocument,
  TestStartTrainingRunIdDocument,
  TestStopTrainingRunDocument,
  type TypedDocumentString,
} from '../../generated/test-operations';

interface FormattedError {
  message: string;
  path?: (string | number)[];
  extensions?: Record<string, unknown> & { code?: string };
}

/** One result as graphql-ws clients hand it over. */
type Result<TResult = Record<string, unknown>> = FormattedExecutionResult<TResult, unknown>;

interface Closed {
  code: number;
  reason: string;
}

/** What one operation produced before it ended: its results, then an error or completion. */
interface Outcome<TResult = Record<string, unknown>> {
  results: Result<TResult>[];
  errors?: FormattedError[];
  closed?: Closed;
  completed: boolean;
}

const GRAPHQL_WS = 'graphql-transport-ws';

function isCloseEvent(value: unknown): value is Closed {
  return typeof value === 'object' && value !== null && 'code' in value && 'reason' in value;
}

/**
 * Runs one operation to its end (complete, error or socket close), with at most `limit` results:
 * a typed document, or a string for the tests whose document itself is refused (limits, syntax).
 */
function run<TResult = Record<string, unknown>, TVariables extends Record<string, unknown> = Record<string, unknown>>(
  client: Client,
  document: TypedDocumentString<TResult, TVariables> | string,
  variables?: TVariables,
  limit = Infinity,
): Promise<Outcome<TResult>> {
  const query = document.toString();
  return new Promise((resolve) => {
    const outcome: Outcome<TResult> = { results: [], completed: false };
    let unsubscribe = (): void => undefined;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      resolve(outcome);
    };
    unsubscribe = client.subscribe<TResult>(
      { query, variables },
      {
        next(result) {
          outcome.results.push(result);
          if (outcome.results.length >= limit) {
            unsubscribe();
            finish();
          }
        },
        error(error: unknown) {
          if (Array.isArray(error)) outcome.errors = error as FormattedError[];
          else if (isCloseEvent(error)) outcome.closed = { code: error.code, reason: error.reason };
          else outcome.errors = [{ message: String(error) }];
          finish();
        },
        complete() {
          outcome.completed = true;
          finish();
        },
      },
    );
  });
}

/** Asserts the operation was refused with one error of `code` whose message matches. */
function assertRefused(outcome: Outcome<unknown>, code: string, message: RegExp): FormattedError {
  assert.equal(outcome.closed, undefined, `the socket closed: ${JSON.stringify(outcome.closed)}`);
  const errors = outcome.errors ?? outcome.results.flatMap((result) => (result.errors ?? []) as FormattedError[]);
  assert.ok(errors.length > 0, `expected errors, got ${JSON.stringify(outcome)}`);
  for (const error of errors) assert.equal(error.extensions?.code, code, `error code of ${JSON.stringify(error)}`);
  const match = errors.find((error) => message.test(error.message));
  assert.ok(match, `no error message matches ${message}: ${JSON.stringify(errors)}`);
  return match;
}

/** Waits until `check` holds, or fails with `what` after `timeoutMs`. */
async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await sleep(25);
  }
}

/** Opens a raw WebSocket; resolves when it opens or the upgrade is refused (with the HTTP status). */
function attemptUpgrade(url: string, headers: Record<string, string> = {}): Promise<{ opened: boolean; status?: number }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, GRAPHQL_WS, { headers });
    socket.on('open', () => {
      socket.once('close', () => resolve({ opened: true }));
      socket.close(1000);
    });
    socket.on('unexpected-response', (_request, response) => {
      response.resume();
      response.once('end', () => resolve({ opened: false, status: response.statusCode }));
    });
    socket.on('error', reject);
  });
}

describe('GraphQL over WebSocket (graphql-ws)', function () {
  let server: TestServer;
  const clients: Client[] = [];

  /** A graphql-ws client that never retries (so a refusal shows), disposed after each test. */
  function connect(options: Partial<ClientOptions> & { key?: string } = {}): Client {
    const { key, ...rest } = options;
    const client = createClient({
      url: server.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: key ? { authorization: `Bearer ${key}` } : undefined,
      onNonLazyError: () => undefined,
      ...rest,
    });
    clients.push(client);
    return client;
  }

  before(async function () {
    server = await startTestServer();
  });

  afterEach(async function () {
    await Promise.all(clients.splice(0).map((client) => client.dispose()));
  });

  after(async function () {
    await server?.close();
  });

  describe('mutations', function () {
    it("takes a create mutation's Idempotency-Key per operation from its extensions, never from the upgrade request", async function () {
      const vendor = await server.createVendor();
      type Started = Result<ResultOf<typeof TestStartTrainingRunIdDocument>>;
      const start = (client: Client, timeoutSeconds: number, extensions?: Record<string, unknown>) =>
        new Promise<Started>((resolve, reject) => {
          let last: Started | undefined;
          client.subscribe<ResultOf<typeof TestStartTrainingRunIdDocument>>(
            { query: TestStartTrainingRunIdDocument.toString(), variables: { spec: { task: 'SIGNAL', timeoutSeconds } }, extensions },
            { next: (result) => (last = result), error: reject, complete: () => (last ? resolve(last) : reject(new Error('no result'))) },
          );
        });
      const client = connect({ key: vendor.apiKey });
      const first = await start(client, 600, { idempotencyKey: 'ws-key-1' });
      const again = await start(client, 600, { idempotencyKey: 'ws-key-1' });
      assert.ok(first.data?.startTrainingRun.id);
      assert.equal(again.data?.startTrainingRun.id, first.data?.startTrainingRun.id, 'the same key and spec give the first run');
      const other = await start(client, 900, { idempotencyKey: 'ws-key-1' });
      assert.equal((other.errors?.[0] as FormattedError | undefined)?.extensions?.code, 'CONFLICT');

      // A header on the upgrade request is not an operation's key: two starts make two runs.
      const withHeader = connect({
        key: vendor.apiKey,
        webSocketImpl: class extends WebSocket {
          constructor(url: string, protocols?: string | string[]) {
            super(url, protocols, { headers: { 'idempotency-key': 'ws-header-key' } });
          }
        },
      });
      const [a, b] = [await start(withHeader, 600), await start(withHeader, 600)];
      assert.notEqual(a.data?.startTrainingRun.id, b.data?.startTrainingRun.id);
      for (const id of [first, a, b].map((result) => result.data!.startTrainingRun.id)) {
        await server.graphql(TestStopTrainingRunDocument, { id }, vendor.apiKey);
      }
    });
  });

  describe('subscriptions', function () {
    it('streams serverTime ticks with sequence 1, 2 to a client without a key, and stops once it unsubscribes', async function () {
      const client = connect();
      const seen: Result<ResultOf<typeof TestServerTimeDocument>>[] = [];
      let unsubscribe = (): void => undefined;
      let failure: unknown;
      await new Promise<void>((resolve) => {
        unsubscribe = client.subscribe<ResultOf<typeof TestServerTimeDocument>>(
          { query: TestServerTimeDocument.toString(), variables: { intervalSeconds: 1 } },
          {
            next(result) {
              seen.push(result);
              if (seen.length === 2) resolve();
            },
            error(error: unknown) {
              failure = error;
              resolve();
            },
            complete: () => resolve(),
          },
        );
      });
      assert.equal(failure, undefined, JSON.stringify(failure));
      unsubscribe();

      const ticks = seen.map((result) => result.data!.serverTime);
      assert.deepEqual(
        ticks.map((tick) => tick.sequence),
        [1, 2],
      );
      for (const tick of ticks) assert.equal(new Date(tick.time).toISOString(), tick.time);

      // The server drops the subscription, and no further tick arrives.
      await eventually('the server has no active subscription', async () => (await server.app.metrics.subscriptions.get()).values[0]?.value === 0);
      await sleep(1500);
      assert.equal(seen.length, 2, `ticks after unsubscribing: ${JSON.stringify(seen.slice(2))}`);
    });

    it('refuses intervalSeconds: 0 with BAD_USER_INPUT naming intervalSeconds', async function () {
      const outcome = await run(connect(), TestServerTimeSequenceDocument, { intervalSeconds: 0 });
      const error = assertRefused(outcome, 'BAD_USER_INPUT', /intervalSeconds: must be between 1 and 60/);
      assert.deepEqual(
        (error.extensions?.fields as { field: string }[]).map((problem) => problem.field),
        ['intervalSeconds'],
      );
    });

    it('answers a query (not only subscriptions) over the socket', async function () {
      const outcome = await run(connect(), TestCatalogSlugsDocument, { first: 2 });
      assert.equal(outcome.errors, undefined, JSON.stringify(outcome));
      assert.equal(outcome.completed, true);
      const catalog = outcome.results[0].data!.catalog;
      assert.ok(catalog.totalCount > 0);
      assert.equal(catalog.nodes.length, 2);
    });
  });

  describe('the same limits as HTTP', function () {
    let client: Client;
    let connections = 0;
    const closes: Closed[] = [];

    beforeEach(function () {
      connections = 0;
      closes.length = 0;
      client = connect({
        lazy: false,
        on: {
          connected: () => (connections += 1),
          closed: (event) => {
            if (isCloseEvent(event)) closes.push({ code: event.code, reason: event.reason });
          },
        },
      });
    });

    /** The refusal was an answer, not a crash: the same connection still serves. */
    async function assertConnectionSurvived(): Promise<void> {
      const outcome = await run(client, TestServerInfoDocument);
      assert.equal(outcome.errors, undefined, JSON.stringify(outcome));
      assert.equal(outcome.completed, true);
      assert.equal(connections, 1, 'the client had to reconnect');
      assert.deepEqual(closes, []);
    }

    it('refuses a NUL character in a variable with BAD_USER_INPUT naming where, and keeps the connection', async function () {
      const outcome = await run(client, TestCatalogDocument, { filter: { search: 'a\u0000b' } });
      const error = assertRefused(outcome, 'BAD_USER_INPUT', /filter\.search: contains a NUL character/);
      assert.deepEqual(
        (error.extensions as { fields?: { field: string }[] }).fields?.map((field) => field.field),
        ['filter.search'],
      );
      await assertConnectionSurvived();
    });

    it('refuses an alias bomb (50 aliases) with BAD_USER_INPUT naming the alias limit', async function () {
      const aliases = Array.from({ length: 50 }, (_, i) => `s${i}: sequence`).join(' ');
      const outcome = await run(client, `subscription { serverTime { ${aliases} } }`);
      assertRefused(outcome, 'BAD_USER_INPUT', /^Query uses too many aliases \(at most 30\)/);
      await assertConnectionSurvived();
    });

    it('refuses a subscription nested deeper than the depth limit with BAD_USER_INPUT naming the limit', async function () {
      let selection = 'x';
      for (let i = 0; i < 14; i += 1) selection = `a { ${selection} }`;
      const outcome = await run(client, `subscription { serverTime { ${selection} } }`);
      assertRefused(outcome, 'BAD_USER_INPUT', /^Query is nested too deeply \(at most 12 levels\)/);
      await assertConnectionSurvived();
    });

    it('refuses a document over the token limit with BAD_USER_INPUT naming the limit', async function () {
      const fields = Array.from({ length: 6000 }, (_, i) => `f${i}`).join(' ');
      const outcome = await run(client, `{ ${fields} }`);
      assertRefused(outcome, 'BAD_USER_INPUT', /5000 tokens/);
      await assertConnectionSurvived();
    });

    it('refuses a document that is not GraphQL with BAD_USER_INPUT and the syntax error', async function () {
      const outcome = await run(client, 'hello');
      assertRefused(outcome, 'BAD_USER_INPUT', /Syntax Error: Unexpected Name "hello"/);
      await assertConnectionSurvived();
    });
  });

  describe('authentication', function () {
    it('accepts a connection with a valid vendor key in connectionParams and runs operations as that vendor', async function () {
      const vendor = await server.createVendor();
      const outcome = await run(connect({ key: vendor.apiKey }), TestMeRoleAndHandleDocument);
      assert.equal(outcome.errors, undefined, JSON.stringify(outcome));
      assert.deepEqual(outcome.results[0].data, { me: { role: 'VENDOR', vendor: { handle: vendor.handle } } });
    });

    it('closes the socket with 4403 and a reason saying the checksum is wrong for a mistyped key', async function () {
      const { apiKey } = await server.createVendor();
      const tampered = apiKey.slice(0, -1) + (apiKey.at(-1) === 'A' ? 'B' : 'A');
      const outcome = await run(connect({ key: tampered }), TestServerInfoDocument);
      assert.equal(outcome.results.length, 0);
      assert.equal(outcome.closed?.code, 4403, JSON.stringify(outcome));
      assert.match(outcome.closed.reason, /checksum/);
      assert.ok(!outcome.closed.reason.includes(tampered));
    });

    it('closes the socket with 4403 and a reason saying no key matches for an unknown key', async function () {
      const { token } = apiKeyFormat.generate();
      const outcome = await run(connect({ key: token }), TestServerInfoDocument);
      assert.equal(outcome.closed?.code, 4403, JSON.stringify(outcome));
      assert.match(outcome.closed.reason, /no key matches it/);
    });

    /** A serverTime stream (one tick a second) that records when and how its socket closed. */
    function openStream(key: string, url = server.wsUrl) {
      const closed: { at: number; code: number; reason: string }[] = [];
      const client = connect({
        key,
        url,
        lazy: false,
        on: { closed: (event) => closed.push({ at: Date.now(), ...(event as Closed) }) },
      });
      const ended = run(client, TestServerTimeSequenceDocument, { intervalSeconds: 1 });
      return { client, closed, ended };
    }

    async function keyIdOf(key: string): Promise<string> {
      const me = await server.graphql(TestMeKeyIdDocument, {}, key);
      return me.data!.me.apiKey.id;
    }

    it('closes an open socket with 4403 within a second of its key being revoked, ending its stream', async function () {
      const vendor = await server.createVendor();
      const other = await server.graphql(TestCreateApiKeyBriefDocument, { input: { name: 'second' } }, vendor.apiKey);
      const stream = openStream(vendor.apiKey);
      const untouched = openStream(other.data!.createApiKey.secret);
      await sleep(300);
      const revoked = await server.graphql(TestRevokeApiKeyStatusDocument, { id: await keyIdOf(vendor.apiKey) }, vendor.apiKey);
      const answeredAt = Date.now();
      assert.equal(revoked.data?.revokeApiKey.status, 'REVOKED', JSON.stringify(revoked));
      const outcome = await stream.ended;
      assert.equal(outcome.closed?.code, 4403, JSON.stringify(outcome));
      assert.match(outcome.closed!.reason, /revoked/);
      assert.ok(stream.closed[0].at - answeredAt < 1000, `closed ${stream.closed[0].at - answeredAt} ms after the mutation answered`);
      assert.equal(untouched.closed.length, 0, "the vendor's other key keeps its socket");
    });

    it('closes every socket of a suspended vendor with 4403, and a reactivation closes none', async function () {
      const vendor = await server.createVendor();
      const first = openStream(vendor.apiKey);
      const second = openStream(vendor.apiKey);
      await sleep(300);
      await server.graphql(TestSuspendVendorDocument, { id: vendor.vendorId, reason: 'test' }, server.adminKey);
      for (const stream of [first, second]) {
        const outcome = await stream.ended;
        assert.equal(outcome.closed?.code, 4403, JSON.stringify(outcome));
        assert.match(outcome.closed!.reason, /suspended/);
      }
      await server.graphql(TestReactivateVendorDocument, { id: vendor.vendorId }, server.adminKey);
      const again = openStream(vendor.apiKey);
      await sleep(300);
      const otherVendor = await server.createVendor();
      await server.graphql(TestReactivateVendorDocument, { id: vendor.vendorId }, server.adminKey);
      await server.graphql(TestSuspendVendorDocument, { id: otherVendor.vendorId, reason: 'someone else' }, server.adminKey);
      await sleep(500);
      assert.equal(again.closed.length, 0, JSON.stringify(again.closed));
    });

    it('closes a socket with 4403 when its key expires mid-stream', async function () {
      const vendor = await server.createVendor();
      const expiresAt = new Date(Date.now() + 2500).toISOString();
      const created = await server.graphql(TestCreateApiKeyBriefDocument, { input: { name: 'short-lived', expiresAt } }, vendor.apiKey);
      const stream = openStream(created.data!.createApiKey.secret);
      const outcome = await stream.ended;
      assert.equal(outcome.closed?.code, 4403, JSON.stringify(outcome));
      assert.match(outcome.closed!.reason, /expired/);
      const late = stream.closed[0].at - Date.parse(expiresAt);
      assert.ok(late >= 0 && late < 1000, `closed ${late} ms after the expiry`);
      assert.ok(outcome.results.length >= 1, 'it streamed until then');
    });

    it('closes a socket on another server process within a second of the revocation (PostgreSQL)', async function () {
      if (!usingPostgres) this.skip();
      const peer = await startPeerServer(server);
      try {
        const vendor = await server.createVendor();
        const stream = openStream(vendor.apiKey, peer.wsUrl);
        await sleep(300);
        await server.graphql(TestRevokeApiKeyStatusDocument, { id: await keyIdOf(vendor.apiKey) }, vendor.apiKey);
        const answeredAt = Date.now();
        const outcome = await stream.ended;
        assert.equal(outcome.closed?.code, 4403, JSON.stringify(outcome));
        assert.ok(stream.closed[0].at - answeredAt < 1000, `closed ${stream.closed[0].at - answeredAt} ms after the mutation answered`);
      } finally {
        await Promise.all(clients.splice(0).map((client) => client.dispose()));
        await peer.close();
      }
    });
  });

  describe('the WebSocket upgrade', function () {
    it('refuses a socket to another path (/other) with 404', async function () {
      const result = await attemptUpgrade(server.wsUrl.replace(/\/graphql$/, '/other'));
      assert.deepEqual(result, { opened: false, status: 404 });
    });

    it('refuses an upgrade from a foreign Origin with 403', async function () {
      const result = await attemptUpgrade(server.wsUrl, { origin: 'https://evil.example' });
      assert.deepEqual(result, { opened: false, status: 403 });
    });

    it("accepts an upgrade without an Origin (a CLI) and one from the server's own origin", async function () {
      assert.deepEqual(await attemptUpgrade(server.wsUrl), { opened: true });
      assert.deepEqual(await attemptUpgrade(server.wsUrl, { origin: server.url }), { opened: true });
    });

    it('closes a socket that never sends connection_init with 4408 within about 6 seconds', async function () {
      this.timeout(15_000);
      const started = Date.now();
      const socket = new WebSocket(server.wsUrl, GRAPHQL_WS);
      const closed = await new Promise<Closed>((resolve, reject) => {
        socket.on('error', reject);
        socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
      });
      const elapsed = Date.now() - started;
      assert.equal(closed.code, 4408);
      assert.match(closed.reason, /Connection initialisation timeout/);
      assert.ok(elapsed < 6_500, `closed after ${elapsed} ms`);
    });

    it('counts open connections in mp_websocket_connections', async function () {
      const gauge = async () => (await server.app.metrics.websocketConnections.get()).values[0]?.value ?? 0;
      const before = await gauge();
      const client = connect({ lazy: false });
      const outcome = await run(client, TestServerInfoDocument);
      assert.equal(outcome.errors, undefined);
      assert.equal(await gauge(), before + 1);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(metrics, new RegExp(`^mp_websocket_connections ${before + 1}$`, 'm'));
      await client.dispose();
      await eventually('the gauge is back down', async () => (await gauge()) === before);
    });
  });

  describe('shutdown', function () {
    it('closes open subscriptions with 1001 and finishes closing well within 10 s', async function () {
      const throwaway = await startTestServer();
      let closeEvent: Closed | undefined;
      const client = createClient({
        url: throwaway.wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        on: {
          closed: (event) => {
            if (isCloseEvent(event)) closeEvent = { code: event.code, reason: event.reason };
          },
        },
      });
      let closing: Promise<void> | undefined;
      try {
        let firstTick!: () => void;
        const ticking = new Promise<void>((resolve) => (firstTick = resolve));
        const ended = new Promise<unknown>((resolve) => {
          client.subscribe(
            { query: TestServerTimeSequenceDocument.toString(), variables: { intervalSeconds: 1 } },
            { next: () => firstTick(), error: resolve, complete: () => resolve('completed') },
          );
        });
        await ticking;

        const started = Date.now();
        closing = throwaway.close();
        await closing;
        const elapsed = Date.now() - started;

        const end = await ended;
        assert.ok(isCloseEvent(end), `the subscription ended with ${JSON.stringify(end)}`);
        assert.equal(end.code, 1001);
        assert.equal(closeEvent?.code, 1001);
        assert.ok(elapsed < 10_000, `close took ${elapsed} ms`);
      } finally {
        await client.dispose();
        await (closing ?? throwaway.close());
      }
    });
  });
});
