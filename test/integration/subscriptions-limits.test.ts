import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../helpers/server';
import { TestServerTimeSequenceDocument } from '../../generated/test-operations';

const GRAPHQL_WS = 'graphql-transport-ws';

interface Message {
  type: string;
  id?: string;
  payload?: unknown;
}

interface ErrorPayload {
  message: string;
  extensions?: { code?: string; retryAfter?: number };
}

/** A raw graphql-ws connection: every message the server sent, and how the socket closed. */
class RawConnection {
  readonly messages: Message[] = [];
  closed?: { code: number; reason: string };
  private readonly ended: Promise<void>;

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => this.messages.push(JSON.parse(String(data)) as Message));
    this.ended = new Promise((resolve) =>
      socket.on('close', (code, reason) => {
        this.closed = { code, reason: String(reason) };
        resolve();
      }),
    );
  }

  static async open(server: TestServer, options: { key?: string; autoPong?: boolean } = {}): Promise<RawConnection> {
    const socket = new WebSocket(server.wsUrl, GRAPHQL_WS, { autoPong: options.autoPong ?? true });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const connection = new RawConnection(socket);
    socket.send(JSON.stringify({ type: 'connection_init', payload: options.key ? { authorization: `Bearer ${options.key}` } : {} }));
    await connection.until('acknowledged or closed', () => connection.closed !== undefined || connection.messages.some((m) => m.type === 'connection_ack'));
    return connection;
  }

  get acknowledged(): boolean {
    return this.messages.some((message) => message.type === 'connection_ack') && this.closed === undefined;
  }

  subscribeMessage(id: string): string {
    return JSON.stringify({ id, type: 'subscribe', payload: { query: TestServerTimeSequenceDocument.toString(), variables: { intervalSeconds: 1 } } });
  }

  subscribe(id: string): void {
    this.socket.send(this.subscribeMessage(id));
  }

  complete(id: string): void {
    this.socket.send(JSON.stringify({ id, type: 'complete' }));
  }

  /** The errors the server sent for subscription `id`, once it sent them or a first result. */
  async outcomeOf(id: string): Promise<'running' | ErrorPayload[]> {
    await this.until(`subscription ${id} answered`, () => this.messages.some((m) => m.id === id && (m.type === 'next' || m.type === 'error')));
    const error = this.messages.find((m) => m.id === id && m.type === 'error');
    return error ? (error.payload as ErrorPayload[]) : 'running';
  }

  ticksOf(id: string): number {
    return this.messages.filter((m) => m.id === id && m.type === 'next').length;
  }

  async until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}: ${JSON.stringify(this.messages.slice(-5))} ${JSON.stringify(this.closed)}`);
      await sleep(10);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.socket.close(1000);
    await this.ended;
  }

  whenClosed(): Promise<void> {
    return this.ended;
  }
}

/** Tries an upgrade: the HTTP status of a refusal, or 101 for an opened socket (closed again at once). */
function upgradeStatus(server: TestServer): Promise<{ status: number; body: string; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(server.wsUrl, GRAPHQL_WS);
    socket.on('open', () => {
      socket.close(1000);
      resolve({ status: 101, body: '' });
    });
    socket.on('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, retryAfter: response.headers['retry-after'] }));
    });
    socket.on('error', reject);
  });
}

describe('WebSocket limits', function () {
  const servers: TestServer[] = [];
  const connections: RawConnection[] = [];

  async function serve(env: Record<string, string>): Promise<TestServer> {
    const server = await startTestServer(env);
    servers.push(server);
    return server;
  }

  async function open(server: TestServer, options: { key?: string; autoPong?: boolean } = {}): Promise<RawConnection> {
    const connection = await RawConnection.open(server, options);
    connections.push(connection);
    return connection;
  }

  afterEach(async function () {
    await Promise.all(connections.splice(0).map((connection) => connection.close()));
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  it('refuses a subscription past 3 on one socket with RATE_LIMITED naming the limit, keeps the socket and the others running', async function () {
    const server = await serve({ MP_WS_MAX_SUBSCRIPTIONS_PER_SOCKET: '3' });
    const connection = await open(server);
    for (const id of ['1', '2', '3']) {
      connection.subscribe(id);
      assert.equal(await connection.outcomeOf(id), 'running');
    }
    connection.subscribe('4');
    const refused = await connection.outcomeOf('4');
    if (refused === 'running') assert.fail('the fourth subscription started');
    assert.equal(refused[0].extensions?.code, 'RATE_LIMITED');
    assert.match(refused[0].message, /this socket already has 3 subscriptions \(the limit per socket\)/);
    assert.equal(connection.closed, undefined);

    const ticks = connection.ticksOf('1');
    await connection.until('subscription 1 ticks again', () => connection.ticksOf('1') > ticks);
    connection.complete('2');
    await sleep(50);
    connection.subscribe('5');
    assert.equal(await connection.outcomeOf('5'), 'running', 'a completed subscription frees its place');
  });

  it('refuses subscribe messages past 2 still starting on one socket, sent in one burst', async function () {
    const server = await serve({ MP_WS_MAX_PENDING_SUBSCRIBES: '2' });
    const connection = await open(server);
    // One TCP write: the server reads all ten frames before any of them has finished starting.
    const tcp = (connection.socket as unknown as { _socket: Socket })._socket;
    tcp.cork();
    const ids = Array.from({ length: 10 }, (_, index) => `burst-${index}`);
    for (const id of ids) connection.subscribe(id);
    tcp.uncork();
    const outcomes = await Promise.all(ids.map((id) => connection.outcomeOf(id)));
    const refused = outcomes.filter((outcome) => outcome !== 'running');
    assert.ok(refused.length >= 1, `none refused: ${JSON.stringify(outcomes)}`);
    assert.ok(outcomes.filter((outcome) => outcome === 'running').length >= 2, 'the first two start');
    for (const errors of refused as ErrorPayload[][]) {
      assert.equal(errors[0].extensions?.code, 'RATE_LIMITED');
      assert.match(errors[0].message, /more than 2 subscriptions on this socket are still starting/);
    }
    assert.equal(connection.closed, undefined);
  });

  it('closes a third socket without a key from one address with 4429 naming the limit; sockets with a key are not counted', async function () {
    const server = await serve({ MP_WS_MAX_ANONYMOUS_SOCKETS_PER_ADDRESS: '2' });
    const first = await open(server);
    await open(server);
    const third = await open(server);
    assert.equal(third.closed?.code, 4429, JSON.stringify(third.closed));
    assert.match(third.closed.reason, /too many open WebSockets without an API key from this address \(the limit is 2\)/);

    const vendor = await server.createVendor();
    assert.ok((await open(server, { key: vendor.apiKey })).acknowledged, 'a socket with a key has its own limit');

    await first.close();
    await sleep(50);
    assert.ok((await open(server)).acknowledged, 'a closed socket frees its place');
  });

  it('refuses an upgrade with HTTP 429 and Retry-After while 2 sockets from the address have not sent connection_init', async function () {
    const server = await serve({ MP_WS_MAX_ANONYMOUS_SOCKETS_PER_ADDRESS: '2' });
    const silent = await Promise.all(
      [0, 1].map(
        () =>
          new Promise<WebSocket>((resolve) => {
            const socket = new WebSocket(server.wsUrl, GRAPHQL_WS);
            socket.once('open', () => resolve(socket));
          }),
      ),
    );
    const refused = await upgradeStatus(server);
    assert.equal(refused.status, 429);
    assert.match(refused.body, /too many WebSockets from this address have not sent connection_init yet \(the limit is 2\)/);
    assert.ok(Number(refused.retryAfter) > 0);
    for (const socket of silent) socket.close(1000);
    await sleep(100);
    assert.equal((await upgradeStatus(server)).status, 101);
  });

  it('closes a third socket of one API key with 4429 naming the limit; another key is not affected', async function () {
    const server = await serve({ MP_WS_MAX_SOCKETS_PER_KEY: '2' });
    const vendor = await server.createVendor();
    await open(server, { key: vendor.apiKey });
    await open(server, { key: vendor.apiKey });
    const third = await open(server, { key: vendor.apiKey });
    assert.equal(third.closed?.code, 4429, JSON.stringify(third.closed));
    assert.match(third.closed.reason, /too many open WebSockets for this API key \(the limit is 2\)/);
    const other = await server.createVendor();
    assert.ok((await open(server, { key: other.apiKey })).acknowledged);
  });

  it('closes a socket with no subscription after the idle time with 1000, and keeps one with a subscription', async function () {
    this.timeout(20_000);
    const server = await serve({ MP_WS_IDLE_SECONDS: '1' });
    const idle = await open(server);
    const busy = await open(server);
    busy.subscribe('1');
    assert.equal(await busy.outcomeOf('1'), 'running');
    await idle.until('the idle socket is closed', () => idle.closed !== undefined, 5000);
    assert.equal(idle.closed?.code, 1000);
    assert.match(idle.closed?.reason ?? '', /idle: no subscription for 1 s/);
    assert.equal(busy.closed, undefined, 'the socket with a running subscription stays open');
    const ticks = busy.ticksOf('1');
    await busy.until('the busy socket keeps ticking', () => busy.ticksOf('1') > ticks);
  });

  it('terminates a socket that stops answering keep-alive pings', async function () {
    this.timeout(20_000);
    const server = await serve({ MP_WS_KEEPALIVE_SECONDS: '1' });
    const silent = await open(server, { autoPong: false });
    const answering = await open(server);
    await silent.until('the silent socket is terminated', () => silent.closed !== undefined, 6000);
    assert.equal(silent.closed?.code, 1006, 'terminated without a close frame');
    assert.equal(answering.closed, undefined, 'a socket that answers pings stays open');
  });

  it('keeps nothing for a socket that closes while its key is being checked (the connection gauge goes back down)', async function () {
    const server = await serve({});
    const gauge = async () => (await server.app.metrics.websocketConnections.get()).values[0]?.value ?? 0;
    const before = await gauge();
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const vendor = await server.createVendor();
      const socket = new WebSocket(server.wsUrl, GRAPHQL_WS);
      await new Promise<void>((resolve) => socket.once('open', () => resolve()));
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${vendor.apiKey}` } }));
      socket.terminate();
    }
    await sleep(500);
    assert.equal(await gauge(), before);
    const connection = await open(server);
    assert.ok(connection.acknowledged, 'the address has its places back');
  });
});
