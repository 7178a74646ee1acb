import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import WebSocket from 'ws';
import { startPeerServer, startTestServer, usingPostgres, type TestServer } from '../helpers/server';
import {
  TestMeDocument as ME,
  TestRevokeApiKeyDocument as REVOKE_KEY,
  TestRevokeSessionDocument,
  TestSessionsDocument,
  TestSuspendVendorDocument,
} from '../../generated/test-operations';

interface SignIn {
  status: number;
  cookie: string | undefined;
  setCookie: string;
  body: { session?: { id: string; expiresAt: string }; errors?: { message: string }[] };
}

describe(`identity: browser sessions (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });

  after(async () => {
    await server.close();
  });

  async function signIn(apiKey: string, headers: Record<string, string> = {}): Promise<SignIn> {
    const response = await fetch(`${server.url}/auth/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'session-test', ...headers },
      body: JSON.stringify({ apiKey }),
    });
    const setCookie = response.headers.get('set-cookie') ?? '';
    return { status: response.status, setCookie, cookie: /^(mp_session=[^;]+)/.exec(setCookie)?.[1], body: (await response.json()) as SignIn['body'] };
  }

  async function graphqlWithCookie(cookie: string, query: string, variables: Record<string, unknown> = {}, contentType = 'application/json') {
    const response = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': contentType, cookie },
      body: JSON.stringify({ query, variables }),
    });
    return {
      status: response.status,
      body: (await response.json()) as { data?: Record<string, unknown>; errors?: { message: string; extensions?: { code?: string } }[] },
    };
  }

  it('exchanges an API key for an HttpOnly SameSite=Strict cookie and stores only the token hash', async () => {
    const vendor = await server.createVendor();
    const signedIn = await signIn(vendor.apiKey);
    assert.equal(signedIn.status, 201);
    assert.match(signedIn.setCookie, /HttpOnly/);
    assert.match(signedIn.setCookie, /SameSite=Strict/);
    assert.doesNotMatch(signedIn.setCookie, /Secure/, 'plain http gets no Secure flag');
    assert.ok(signedIn.cookie);
    const token = signedIn.cookie.slice('mp_session='.length);
    const rows: { token_hash: string }[] = await server.database.dataSource.query('SELECT token_hash FROM sessions WHERE id = $1', [signedIn.body.session?.id]);
    assert.equal(rows[0].token_hash, createHash('sha256').update(token).digest('hex'));
    const me = await graphqlWithCookie(signedIn.cookie, ME.toString());
    assert.equal(me.status, 200);
    assert.equal((me.body.data?.me as { vendor: { handle: string } }).vendor.handle, vendor.handle);
  });

  it('marks the cookie Secure when the site is served over https', async () => {
    const vendor = await server.createVendor();
    const signedIn = await signIn(vendor.apiKey, { 'x-forwarded-proto': 'https' });
    assert.match(signedIn.setCookie, /; Secure/);
  });

  it('refuses a wrong key with one sentence and sets no cookie', async () => {
    const signedIn = await signIn('vk_nope');
    assert.equal(signedIn.status, 401);
    assert.equal(signedIn.setCookie, '');
    assert.match(signedIn.body.errors?.[0].message ?? '', /API key/);
  });

  it('keeps Apollo CSRF prevention for cookie requests', async () => {
    const vendor = await server.createVendor();
    const { cookie } = await signIn(vendor.apiKey);
    const simple = await graphqlWithCookie(cookie ?? '', ME.toString(), {}, 'text/plain');
    assert.equal(simple.status, 400);
    assert.match(simple.body.errors?.[0].message ?? '', /CSRF/);
  });

  it('refuses a cross-site sign-in and a cross-site WebSocket', async () => {
    const vendor = await server.createVendor();
    const crossSite = await signIn(vendor.apiKey, { origin: 'https://evil.example' });
    assert.equal(crossSite.status, 403);
    const refused = await new Promise<number>((resolve) => {
      const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws', { headers: { origin: 'https://evil.example' } });
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.on('open', () => resolve(101));
      socket.on('error', () => undefined);
    });
    assert.equal(refused, 403);
  });

  it('lists sessions, marks the current one, and revokes another', async () => {
    const vendor = await server.createVendor();
    const first = await signIn(vendor.apiKey);
    const second = await signIn(vendor.apiKey);
    const listed = await graphqlWithCookie(first.cookie ?? '', TestSessionsDocument.toString());
    const sessions = listed.body.data?.sessions as { totalCount: number; nodes: { id: string; current: boolean; userAgent: string }[] };
    assert.equal(sessions.totalCount, 2);
    assert.deepEqual(sessions.nodes.find((node) => node.current)?.id, first.body.session?.id);
    assert.equal(sessions.nodes[0].userAgent, 'session-test');
    await graphqlWithCookie(first.cookie ?? '', TestRevokeSessionDocument.toString(), { id: second.body.session?.id });
    const ended = await graphqlWithCookie(second.cookie ?? '', ME.toString());
    assert.equal(ended.body.errors?.[0].extensions?.code, 'UNAUTHENTICATED');
    assert.match(ended.body.errors?.[0].message ?? '', /session has ended/);
  });

  it('ends the session on sign-out', async () => {
    const vendor = await server.createVendor();
    const { cookie } = await signIn(vendor.apiKey);
    const out = await fetch(`${server.url}/auth/session`, { method: 'DELETE', headers: { cookie: cookie ?? '' } });
    assert.equal(out.status, 204);
    assert.match(out.headers.get('set-cookie') ?? '', /Max-Age=0/);
    const after = await graphqlWithCookie(cookie ?? '', ME.toString());
    assert.equal(after.body.errors?.[0].extensions?.code, 'UNAUTHENTICATED');
    assert.equal(after.body.data, undefined);
  });

  it('ends every session of a revoked key at its next request and closes its open WebSocket', async () => {
    const vendor = await server.createVendor();
    const { cookie } = await signIn(vendor.apiKey);
    const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws', { headers: { cookie: cookie ?? '' } });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
      socket.once('message', () => resolve());
      socket.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    const me = await server.graphql(ME, {}, vendor.apiKey);
    await server.graphql(REVOKE_KEY, { id: me.data?.me.apiKey.id ?? '' }, vendor.apiKey);
    assert.match((await graphqlWithCookie(cookie ?? '', ME.toString())).body.errors?.[0].message ?? '', /session has ended/);
    assert.equal(await closed, 4403);
  });

  it('ends the sessions of a vendor suspended on another server process, and closes their sockets (PostgreSQL)', async function () {
    if (!usingPostgres) this.skip();
    const peer = await startPeerServer(server);
    try {
      const vendor = await server.createVendor();
      const { cookie } = await signIn(vendor.apiKey);
      const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws', { headers: { cookie: cookie ?? '' } });
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
        socket.once('message', () => resolve());
        socket.once('error', reject);
      });
      const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
      const suspended = await peer.graphql(TestSuspendVendorDocument, { id: vendor.vendorId }, peer.adminKey);
      assert.equal(suspended.errors, undefined, JSON.stringify(suspended.errors));
      assert.equal((await graphqlWithCookie(cookie ?? '', ME.toString())).body.errors?.[0].extensions?.code, 'UNAUTHENTICATED');
      assert.equal(await closed, 4403);
    } finally {
      await peer.close();
    }
  });
});
