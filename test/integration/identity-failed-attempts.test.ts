import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { encodeBase62, randomBase62 } from '../../server/db/ids';
import { TokenFormat } from '../../server/tokens';
import { apiKeyFormat } from '../../server/modules/identity/api-key-token';
import { addressBucket } from '../../server/rate-limits';
import { startPeerServer, startTestServer, usingPostgres, type TestServer } from '../helpers/server';
import { TestMeRoleDocument } from '../../generated/test-operations';

interface Answer {
  status: number;
  retryAfter: string | null;
  code: string | undefined;
  message: string;
  extensions: Record<string, unknown>;
}

/** `me { role }` with `key`: the status, the Retry-After header and the first error. */
async function ask(server: TestServer, key: string): Promise<Answer> {
  const response = await fetch(server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: TestMeRoleDocument.toString() }),
  });
  const body = (await response.json()) as { errors?: { message: string; extensions: Record<string, unknown> & { code?: string } }[] };
  const error = body.errors?.[0];
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    code: error?.extensions.code,
    message: error?.message ?? '',
    extensions: error?.extensions ?? {},
  };
}

/** A well-formed key (right checksum) for an existing key's id, with a fresh wrong secret each time. */
function wrongSecretFor(apiKey: string): string {
  const body = `vk_${apiKey.split('_')[1]}_${randomBase62(TokenFormat.lengths.secret)}`;
  return body + encodeBase62(crc32(body), TokenFormat.lengths.checksum);
}

/** Opens a graphql-ws socket with `key` and resolves with how the server closed it (or 'acknowledged'). */
function connectWith(server: TestServer, key: string): Promise<{ code: number; reason: string } | 'acknowledged'> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws');
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } })));
    socket.on('message', (data) => {
      if ((JSON.parse(String(data)) as { type: string }).type === 'connection_ack') {
        socket.close(1000);
        resolve('acknowledged');
      }
    });
    socket.on('close', (code, reason) => resolve({ code, reason: String(reason) }));
    socket.on('error', reject);
  });
}

describe('failed API key attempts', function () {
  const servers: TestServer[] = [];

  async function serve(env: Record<string, string>): Promise<TestServer> {
    const server = await startTestServer(env);
    servers.push(server);
    return server;
  }

  afterEach(async function () {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  describe('per key id', function () {
    it('refuses the key id with 429 RATE_LIMITED and Retry-After after 3 wrong secrets, even with the right secret', async function () {
      const server = await serve({ MP_AUTH_FAILURES_PER_KEY: '3', MP_AUTH_FAILURE_WINDOW_SECONDS: '600' });
      const victim = await server.createVendor();
      for (let attempt = 1; attempt <= 3; attempt += 1) {
        const answer = await ask(server, wrongSecretFor(victim.apiKey));
        assert.equal(answer.status, 401, `attempt ${attempt}: ${JSON.stringify(answer)}`);
        assert.match(answer.message, /invalid API key: no key matches it/);
      }
      for (const key of [wrongSecretFor(victim.apiKey), victim.apiKey]) {
        const answer = await ask(server, key);
        assert.equal(answer.status, 429, JSON.stringify(answer));
        assert.equal(answer.code, 'RATE_LIMITED');
        assert.match(answer.message, /too many failed attempts with this API key's id: retry in \d+ s/);
        const retryAfter = Number(answer.retryAfter);
        assert.ok(retryAfter > 0 && retryAfter <= 600, `Retry-After ${answer.retryAfter}`);
        assert.equal(answer.extensions.retryAfter, retryAfter);
        assert.ok(!answer.message.includes(key.slice(16)), 'the answer quotes the secret');
      }
      const other = await server.createVendor();
      assert.equal((await ask(server, other.apiKey)).status, 200, "another key's id is not affected");
    });

    it('lets no more than 3 of 12 concurrent wrong secrets reach the hash: the rest are refused before it', async function () {
      const server = await serve({ MP_AUTH_FAILURES_PER_KEY: '3' });
      const vendor = await server.createVendor();
      const answers = await Promise.all(Array.from({ length: 12 }, () => ask(server, wrongSecretFor(vendor.apiKey))));
      const statuses = answers.map((answer) => answer.status).sort();
      assert.deepEqual(statuses, [401, 401, 401, ...Array<number>(9).fill(429)]);
    });

    it('forgets the wrong secrets once the right secret is presented', async function () {
      const server = await serve({ MP_AUTH_FAILURES_PER_KEY: '3', MP_KEY_CACHE_TTL_SECONDS: '0' });
      const vendor = await server.createVendor();
      for (let round = 0; round < 3; round += 1) {
        for (let attempt = 0; attempt < 2; attempt += 1) assert.equal((await ask(server, wrongSecretFor(vendor.apiKey))).status, 401);
        assert.equal((await ask(server, vendor.apiKey)).status, 200, `round ${round}: two typos and then the right key`);
      }
    });

    it('lets the key id in again once the window has passed', async function () {
      const server = await serve({ MP_AUTH_FAILURES_PER_KEY: '2', MP_AUTH_FAILURE_WINDOW_SECONDS: '1' });
      const vendor = await server.createVendor();
      for (let attempt = 0; attempt < 2; attempt += 1) await ask(server, wrongSecretFor(vendor.apiKey));
      assert.equal((await ask(server, vendor.apiKey)).status, 429);
      await sleep(1300);
      assert.equal((await ask(server, vendor.apiKey)).status, 200);
    });

    it('closes a WebSocket presenting a throttled key id with 4429 and the wait', async function () {
      const server = await serve({ MP_AUTH_FAILURES_PER_KEY: '2' });
      const vendor = await server.createVendor();
      for (let attempt = 0; attempt < 2; attempt += 1) await ask(server, wrongSecretFor(vendor.apiKey));
      const closed = await connectWith(server, vendor.apiKey);
      if (closed === 'acknowledged') assert.fail('the socket was acknowledged');
      assert.equal(closed.code, 4429);
      assert.match(closed.reason, /too many failed attempts with this API key's id: retry in \d+ s/);
    });

    it('counts the attempts made on every process (PostgreSQL)', async function () {
      if (!usingPostgres) this.skip();
      const server = await serve({ MP_AUTH_FAILURES_PER_KEY: '3' });
      const peer = await startPeerServer(server, { MP_AUTH_FAILURES_PER_KEY: '3' });
      servers.push(peer);
      const vendor = await server.createVendor();
      assert.equal((await ask(server, wrongSecretFor(vendor.apiKey))).status, 401);
      assert.equal((await ask(peer, wrongSecretFor(vendor.apiKey))).status, 401);
      assert.equal((await ask(server, wrongSecretFor(vendor.apiKey))).status, 401);
      const onPeer = await ask(peer, vendor.apiKey);
      assert.equal(onPeer.status, 429, `the peer did not count the first process's failures: ${JSON.stringify(onPeer)}`);
    });
  });

  describe('per address', function () {
    it('refuses new keys from an address after 4 failed attempts with any key ids, and keeps serving keys it already checked', async function () {
      const server = await serve({ MP_AUTH_FAILURES_PER_KEY: '100', MP_AUTH_FAILURES_PER_ADDRESS: '4' });
      const known = await server.createVendor();
      assert.equal((await ask(server, known.apiKey)).status, 200);
      const other = await server.createVendor();
      for (let attempt = 0; attempt < 4; attempt += 1) {
        const answer = await ask(server, attempt % 2 ? apiKeyFormat.generate().token : wrongSecretFor(other.apiKey));
        assert.equal(answer.status, 401, `attempt ${attempt}: ${JSON.stringify(answer)}`);
      }
      const unknown = await ask(server, apiKeyFormat.generate().token);
      assert.equal(unknown.status, 429, JSON.stringify(unknown));
      assert.match(unknown.message, /too many failed API key attempts from this address: retry in \d+ s/);
      assert.equal((await ask(server, other.apiKey)).status, 429, 'a key not yet checked from this address waits too');
      assert.equal((await ask(server, known.apiKey)).status, 200, 'a key this process already validated is served from its cache');
    });

    it('never counts right secrets against the address, however many are checked at once', async function () {
      const server = await serve({ MP_AUTH_FAILURES_PER_ADDRESS: '3' });
      const vendors = await Promise.all(Array.from({ length: 8 }, () => server.createVendor()));
      const answers = await Promise.all(vendors.map((vendor) => ask(server, vendor.apiKey)));
      assert.deepEqual(
        answers.map((answer) => answer.status),
        Array<number>(8).fill(200),
      );
      assert.equal((await ask(server, apiKeyFormat.generate().token)).status, 401, 'the address still has its failures to spend');
    });

    it('does not count malformed keys, which cost nothing to refuse', async function () {
      const server = await serve({ MP_AUTH_FAILURES_PER_ADDRESS: '2' });
      const vendor = await server.createVendor();
      for (let attempt = 0; attempt < 5; attempt += 1) assert.equal((await ask(server, `${vendor.apiKey.slice(0, -1)}!`)).status, 401);
      assert.equal((await ask(server, vendor.apiKey)).status, 200);
    });
  });

  describe('address buckets', function () {
    it('counts an IPv4 address, its IPv4-mapped IPv6 form and each IPv6 /64 as one', function () {
      assert.equal(addressBucket('203.0.113.7'), '203.0.113.7');
      assert.equal(addressBucket('::ffff:203.0.113.7'), '203.0.113.7');
      assert.equal(addressBucket('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
      assert.equal(addressBucket('2001:0db8:0001:0002:ffff:0:0:9'), '2001:db8:1:2::/64');
      assert.equal(addressBucket('::1'), '0:0:0:0::/64');
    });
  });
});
