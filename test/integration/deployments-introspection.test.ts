import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeBase62, randomBase62 } from '../../server/db/ids';
import { TokenFormat } from '../../server/tokens';
import { writeQuietServingTemplate } from '../helpers/serving-template';
import { createPostgresDatabase, startPeerServer, startTestServer, usingPostgres, type TestServer } from '../helpers/server';
import { runServerCommand, startServerProcess } from '../helpers/server-process';
import {
  TestCreateDeploymentDocument,
  TestDeploymentDocument,
  TestRotateDeploymentTokenDocument,
  TestStopDeploymentDocument,
} from '../../generated/test-operations';

interface CreatedClient {
  clientId: string;
  name: string;
  clientSecret: string;
}

interface Introspected {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

function basic(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

/** POST /oauth/introspect on `baseUrl`; `body` is sent as given (a string) or form-encoded. */
async function introspect(
  baseUrl: string,
  authorization: string | undefined,
  body: string | Record<string, string>,
  contentType = 'application/x-www-form-urlencoded',
): Promise<Introspected> {
  const response = await fetch(`${baseUrl}/oauth/introspect`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...(authorization ? { authorization } : {}) },
    body: typeof body === 'string' ? body : new URLSearchParams(body).toString(),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** A well-formed secret (right checksum) with an existing secret's lookup id and a wrong secret part. */
function wrongSecretFor(secret: string): string {
  const [prefix, lookup] = secret.split('_');
  const body = `${prefix}_${lookup}_${randomBase62(TokenFormat.lengths.secret)}`;
  return body + encodeBase62(crc32(body), TokenFormat.lengths.checksum);
}

describe(`token introspection for the trading infrastructure (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  let server: TestServer;
  let templates: string;
  let client: CreatedClient;

  before(async function () {
    templates = mkdtempSync(path.join(tmpdir(), 'mp-introspect-templates-'));
    writeQuietServingTemplate(templates);
    server = await startTestServer({ MP_TEMPLATES_DIR: templates, MP_AUTH_FAILURES_PER_KEY: '3' });
    if (usingPostgres) {
      // The operator's command, against the database the server is using.
      const created = await runServerCommand(['infra', 'create-client', '--name', 'trading infra', '--json'], { DATABASE_URL: server.databaseUrl });
      assert.equal(created.code, 0, created.stderr);
      client = JSON.parse(created.stdout) as CreatedClient;
    } else {
      const created = await server.app.services.infraClients.create('trading infra');
      client = { clientId: created.client.id, name: created.client.name, clientSecret: created.secret };
    }
  });

  after(async function () {
    await server?.close();
    rmSync(templates, { recursive: true, force: true });
  });

  async function deploy(input: Record<string, unknown> = {}) {
    const vendor = await server.createVendor();
    const created = await server.graphql(
      TestCreateDeploymentDocument,
      { input: { name: `model-${Math.random().toString(36).slice(2, 8)}`, ...input } },
      vendor.apiKey,
    );
    assert.equal(created.errors, undefined, JSON.stringify(created.errors));
    const { deployment, token } = created.data!.createDeployment;
    // Started, as the endpoint would be when its token is shown to the infrastructure (and rotatable).
    const deadline = Date.now() + 10_000;
    for (;;) {
      const read = await server.graphql(TestDeploymentDocument, { id: deployment.id }, vendor.apiKey);
      if (read.data?.deployment.status === 'STARTING') break;
      if (Date.now() > deadline) assert.fail(`deployment ${deployment.id} did not start: ${JSON.stringify(read.data ?? read.errors)}`);
      await sleep(50);
    }
    return { vendor, deployment, token: token! };
  }

  async function stop(apiKey: string, id: string) {
    const stopped = await server.graphql(TestStopDeploymentDocument, { id }, apiKey);
    assert.equal(stopped.errors, undefined, JSON.stringify(stopped.errors));
  }

  it('answers a live sit_ token with active, scope, client_id, sub, iat and our vendor, model and deployment ids, never cached', async function () {
    const { vendor, deployment, token } = await deploy();
    const before = Math.floor(Date.now() / 1000);
    try {
      assert.match(client.clientId, /^icl_[0-9A-Za-z]{12}$/);
      assert.match(client.clientSecret, /^ic_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}$/);
      const answer = await introspect(server.url, basic(client.clientId, client.clientSecret), { token, token_type_hint: 'access_token' });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.headers.get('cache-control'), 'no-store');
      assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
      const { iat, jti, ...rest } = answer.body;
      assert.deepEqual(rest, {
        active: true,
        scope: 'heartbeat:write signals:write',
        client_id: deployment.id,
        sub: vendor.vendorId,
        token_type: 'deployment_token',
        vendor_id: vendor.vendorId,
        model_id: null,
        deployment_id: deployment.id,
      });
      assert.ok(Number.isInteger(iat) && (iat as number) >= before - 5 && (iat as number) <= before + 5, `iat ${String(iat)} is the token's creation`);
      assert.match(String(jti), /^dtk_/);
      assert.equal('exp' in answer.body, false, 'deployment tokens do not expire: no exp');

      // The same answer for the client's secret as a bearer token.
      const bearer = await introspect(server.url, `Bearer ${client.clientSecret}`, { token });
      assert.equal(bearer.status, 200);
      assert.equal(bearer.body.active, true);
    } finally {
      await stop(vendor.apiKey, deployment.id);
    }
  });

  it('answers exactly {"active": false} once the deployment stops, on this process and on a peer within a second', async function () {
    const { vendor, deployment, token } = await deploy();
    const peer = usingPostgres ? await startPeerServer(server) : undefined;
    try {
      const auth = basic(client.clientId, client.clientSecret);
      // Both processes now hold the token in their validation cache.
      assert.equal((await introspect(server.url, auth, { token })).body.active, true);
      if (peer) assert.equal((await introspect(peer.url, auth, { token })).body.active, true);

      await stop(vendor.apiKey, deployment.id);
      const here = await introspect(server.url, auth, { token });
      assert.equal(here.status, 200);
      assert.deepEqual(here.body, { active: false });
      assert.equal(here.headers.get('cache-control'), 'no-store');
      if (peer) {
        const deadline = Date.now() + 1000;
        let there = await introspect(peer.url, auth, { token });
        while (there.body.active !== false && Date.now() < deadline) {
          await sleep(20);
          there = await introspect(peer.url, auth, { token });
        }
        assert.deepEqual(there.body, { active: false }, 'the peer process forgot the token within a second');
      }
    } finally {
      await peer?.close();
    }
  });

  it('answers exactly {"active": false} for unknown, malformed, rotated-out, API key and client-secret tokens', async function () {
    const { vendor, deployment, token } = await deploy();
    try {
      const rotated = await server.graphql(TestRotateDeploymentTokenDocument, { id: deployment.id }, vendor.apiKey);
      assert.equal(rotated.errors, undefined, JSON.stringify(rotated.errors));
      const fresh = rotated.data!.rotateDeploymentToken.token;
      const auth = basic(client.clientId, client.clientSecret);
      const inactive = [
        token, // rotated out
        wrongSecretFor(fresh),
        `sit_${randomBase62(12)}_${randomBase62(38)}`, // bad checksum
        'sit_short',
        'not a token at all',
        vendor.apiKey,
        server.adminKey,
        client.clientSecret,
      ];
      for (const candidate of inactive) {
        const answer = await introspect(server.url, auth, { token: candidate });
        assert.equal(answer.status, 200, candidate);
        assert.deepEqual(answer.body, { active: false }, candidate);
        assert.equal(answer.headers.get('cache-control'), 'no-store');
      }
      assert.equal((await introspect(server.url, auth, { token: fresh })).body.active, true, 'the new token is live');
    } finally {
      await stop(vendor.apiKey, deployment.id);
    }
  });

  it('refuses callers without a valid client secret: 401 invalid_client with WWW-Authenticate', async function () {
    const { vendor, deployment, token } = await deploy();
    try {
      const other = await server.app.services.infraClients.create('to revoke');
      await server.app.services.infraClients.revoke(other.client.id);
      const refused: [string, string | undefined, RegExp][] = [
        ['no credentials', undefined, /Basic realm="mp-introspection".*Bearer realm="mp-introspection"/],
        ['a random secret', basic(client.clientId, `ic_${randomBase62(12)}_${randomBase62(38)}`), /^Basic /],
        ['the right secret under another client id', basic('icl_000000000000', client.clientSecret), /^Basic /],
        ['a revoked client', basic(other.client.id, other.secret), /^Basic /],
        ['the deployment token itself', `Bearer ${token}`, /^Bearer /],
        ['a vendor API key', `Bearer ${vendor.apiKey}`, /^Bearer /],
        ['a Basic header that is not base64 of id:secret', 'Basic !!!', /^Basic /],
      ];
      for (const [what, authorization, challenge] of refused) {
        const answer = await introspect(server.url, authorization, { token });
        assert.equal(answer.status, 401, what);
        assert.equal(answer.body.error, 'invalid_client', what);
        assert.match(answer.headers.get('www-authenticate') ?? '', challenge, what);
        assert.equal(answer.headers.get('cache-control'), 'no-store', what);
        assert.equal('active' in answer.body, false, what);
      }
    } finally {
      await stop(vendor.apiKey, deployment.id);
    }
  });

  it('answers 400 invalid_request for a missing, empty or repeated token or a malformed body, 415 for another media type, 405 for GET', async function () {
    const auth = basic(client.clientId, client.clientSecret);
    for (const body of ['', 'token=', 'token_type_hint=access_token', 'token=a&token=b', 'token=%E0%A4%A', 'token=sit_x&token_type_hint=a&token_type_hint=b']) {
      const answer = await introspect(server.url, auth, body);
      assert.equal(answer.status, 400, body);
      assert.equal(answer.body.error, 'invalid_request', body);
      assert.equal(answer.headers.get('cache-control'), 'no-store');
    }
    const json = await introspect(server.url, auth, JSON.stringify({ token: 'x' }), 'application/json');
    assert.equal(json.status, 415);
    assert.equal(json.body.error, 'invalid_request');
    const get = await fetch(`${server.url}/oauth/introspect?token=x`, { headers: { authorization: auth } });
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    assert.equal(get.headers.get('cache-control'), 'no-store');
  });

  it('throttles failed client authentication per client id: past the limit even the right secret waits (429, Retry-After)', async function () {
    this.timeout(20_000);
    const throttled = await server.app.services.infraClients.create('throttled');
    // MP_AUTH_FAILURES_PER_KEY is 3 on this server.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const wrong = await introspect(server.url, basic(throttled.client.id, wrongSecretFor(throttled.secret)), { token: 'sit_x' });
      assert.equal(wrong.status, 401, `attempt ${attempt + 1}`);
    }
    const limited = await introspect(server.url, basic(throttled.client.id, throttled.secret), { token: 'sit_x' });
    assert.equal(limited.status, 429, JSON.stringify(limited.body));
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    assert.equal(limited.body.error, 'invalid_client');
    // Another client is not affected.
    assert.equal((await introspect(server.url, basic(client.clientId, client.clientSecret), { token: 'sit_x' })).status, 200);
  });
});

describe(`mp-server infra (operator commands, ${usingPostgres ? 'on PostgreSQL beside a running server' : 'on the embedded database with the server stopped'})`, function () {
  let env: Record<string, string>;
  let cleanUp: () => Promise<void> = async () => undefined;

  before(async function () {
    this.timeout(60_000);
    if (usingPostgres) {
      const created = await createPostgresDatabase();
      cleanUp = created.drop;
      env = { DATABASE_URL: created.url };
      const migrated = await runServerCommand(['migrate'], env);
      assert.equal(migrated.code, 0, migrated.stderr);
    } else {
      const dataDir = await mkdtemp(path.join(tmpdir(), 'mp-infra-'));
      cleanUp = () => rm(dataDir, { recursive: true, force: true });
      env = { MP_DATA_DIR: dataDir };
    }
  });

  after(async function () {
    await cleanUp();
  });

  it('creates a client whose secret works on the server, lists it, and revokes it', async function () {
    // Five commands and a server, each a process of its own that compiles on start.
    this.timeout(180_000);
    const created = await runServerCommand(['infra', 'create-client', '--name', 'trading infra', '--json'], env);
    assert.equal(created.code, 0, created.stderr);
    const client = JSON.parse(created.stdout) as CreatedClient;
    assert.equal(client.name, 'trading infra');
    assert.match(client.clientSecret, /^ic_/);

    const text = await runServerCommand(['infra', 'create-client', '--name', 'second'], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /client secret: +ic_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}\n/);
    assert.match(text.stdout, /shown only now/);

    const auth = basic(client.clientId, client.clientSecret);
    const server = await startServerProcess(env);
    try {
      const answer = await introspect(server.url, auth, { token: 'sit_unknown' });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.deepEqual(answer.body, { active: false });
      if (usingPostgres) {
        // The server holds the client in its cache; the command's revocation reaches it at once.
        const revoked = await runServerCommand(['infra', 'revoke-client', client.clientId], env);
        assert.equal(revoked.code, 0, revoked.stderr);
        assert.equal((await introspect(server.url, auth, { token: 'sit_unknown' })).status, 401);
      }
      assert.ok(!server.output().includes(client.clientSecret.slice(16)), 'the secret never reaches the log');
    } finally {
      await server.stop();
    }

    if (!usingPostgres) {
      const revoked = await runServerCommand(['infra', 'revoke-client', client.clientId], env);
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.match(revoked.stdout, new RegExp(`Revoked infrastructure client ${client.clientId}`));
    }
    const listed = await runServerCommand(['infra', 'list-clients', '--json'], env);
    assert.equal(listed.code, 0, listed.stderr);
    const clients = JSON.parse(listed.stdout) as { id: string; name: string; revokedAt: string | null; lastUsedAt: string | null }[];
    assert.deepEqual(
      clients.map((row) => [row.name, row.revokedAt === null]),
      [
        ['second', true],
        ['trading infra', false],
      ],
    );
    assert.ok(clients[1].lastUsedAt, 'the client that authenticated shows when');
    assert.ok(!listed.stdout.includes('secret') && !listed.stdout.includes('argon2'), 'no hash or secret is listed');
    const missing = await runServerCommand(['infra', 'revoke-client', 'icl_nosuchclient'], env);
    assert.equal(missing.code, 4, missing.stderr);
    const unnamed = await runServerCommand(['infra', 'create-client', '--name', ' '], env);
    assert.equal(unnamed.code, 5, unnamed.stderr);
  });
});
