import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeQuietServingTemplate } from '../helpers/serving-template';
import { startPeerServer, startTestServer, usingPostgres, type TestServer } from '../helpers/server';
import {
  TestCreateDeploymentDocument,
  TestDeploymentDocument,
  TestMeRoleDocument,
  TestSendHeartbeatDocument,
  TestStopDeploymentDocument,
} from '../../generated/test-operations';

interface Answer {
  status: number;
  retryAfter: string | null;
  policy: string | null;
  limit: string | null;
  code: string | undefined;
  extensions: Record<string, unknown>;
}

/** One GraphQL request over HTTP with `credential`, keeping the headers this test is about. */
async function post(graphqlUrl: string, document: { toString(): string }, variables: Record<string, unknown>, credential?: string): Promise<Answer> {
  const response = await fetch(graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(credential ? { authorization: `Bearer ${credential}` } : {}) },
    body: JSON.stringify({ query: document.toString(), variables }),
  });
  const body = (await response.json()) as { errors?: { extensions: Record<string, unknown> & { code?: string } }[] };
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    policy: response.headers.get('ratelimit-policy'),
    limit: response.headers.get('ratelimit'),
    code: body.errors?.[0]?.extensions.code,
    extensions: body.errors?.[0]?.extensions ?? {},
  };
}

function heartbeat(graphqlUrl: string, token: string): Promise<Answer> {
  return post(graphqlUrl, TestSendHeartbeatDocument, { input: { status: 'READY' } }, token);
}

/** The `r` and `t` of a `RateLimit: "<policy>";r=<n>;t=<seconds>` field (draft-ietf-httpapi-ratelimit-headers). */
function serviceLimit(field: string | null, policy: string): { r: number; t: number } {
  const match = new RegExp(`^"${policy}";r=(\\d+);t=(\\d+)$`).exec(field ?? '');
  assert.ok(match, `RateLimit: ${field}`);
  return { r: Number(match[1]), t: Number(match[2]) };
}

describe(`rate limits per deployment token and per API key (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  let server: TestServer;
  let templates: string;

  before(async function () {
    templates = mkdtempSync(path.join(tmpdir(), 'mp-limits-templates-'));
    writeQuietServingTemplate(templates);
    server = await startTestServer({ MP_TEMPLATES_DIR: templates });
  });

  after(async function () {
    await server?.close();
    rmSync(templates, { recursive: true, force: true });
  });

  async function deploy(apiKey: string, rateLimitPerMinute: number) {
    const created = await server.graphql(
      TestCreateDeploymentDocument,
      { input: { name: `model-${Math.random().toString(36).slice(2, 8)}`, rateLimitPerMinute } },
      apiKey,
    );
    assert.equal(created.errors, undefined, JSON.stringify(created.errors));
    const { deployment, token } = created.data!.createDeployment;
    const deadline = Date.now() + 10_000;
    for (;;) {
      const read = await server.graphql(TestDeploymentDocument, { id: deployment.id }, apiKey);
      if (read.data?.deployment.status === 'STARTING') break;
      if (Date.now() > deadline) assert.fail(`deployment ${deployment.id} did not start: ${JSON.stringify(read.data ?? read.errors)}`);
      await sleep(50);
    }
    return { id: deployment.id, token: token! };
  }

  it("spends one of the deployment's rateLimitPerMinute per request: the 4th of 3 is 429 RATE_LIMITED with Retry-After", async function () {
    const vendor = await server.createVendor();
    const limited = await deploy(vendor.apiKey, 3);
    const other = await deploy(vendor.apiKey, 3);
    try {
      for (let request = 1; request <= 3; request += 1) {
        const beat = await heartbeat(server.graphqlUrl, limited.token);
        assert.equal(beat.status, 200, `heartbeat ${request}: ${JSON.stringify(beat)}`);
        assert.equal(beat.code, undefined);
        assert.equal(beat.policy, '"deployment";q=3;w=60');
        const { r, t } = serviceLimit(beat.limit, 'deployment');
        assert.equal(r, 3 - request);
        assert.ok(t >= 1 && t <= 60, `t=${t}`);
      }
      const refused = await heartbeat(server.graphqlUrl, limited.token);
      assert.equal(refused.status, 429);
      assert.equal(refused.code, 'RATE_LIMITED');
      const retryAfter = Number(refused.retryAfter);
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${refused.retryAfter}`);
      assert.equal(refused.extensions.retryAfter, retryAfter);
      assert.equal(refused.policy, '"deployment";q=3;w=60');
      const { r, t } = serviceLimit(refused.limit, 'deployment');
      assert.equal(r, 0);
      assert.ok(retryAfter >= t, 'Retry-After is not before the end of the window');

      // Each deployment has its own allowance.
      assert.equal((await heartbeat(server.graphqlUrl, other.token)).status, 200);
    } finally {
      await server.graphql(TestStopDeploymentDocument, { id: limited.id }, vendor.apiKey);
      await server.graphql(TestStopDeploymentDocument, { id: other.id }, vendor.apiKey);
    }
  });

  it('shares one deployment allowance across server processes (PostgreSQL)', async function () {
    if (!usingPostgres) return this.skip();
    const vendor = await server.createVendor();
    const { id, token } = await deploy(vendor.apiKey, 3);
    const peer = await startPeerServer(server);
    try {
      assert.equal((await heartbeat(server.graphqlUrl, token)).status, 200);
      assert.equal((await heartbeat(peer.graphqlUrl, token)).status, 200);
      const third = await heartbeat(server.graphqlUrl, token);
      assert.equal(third.status, 200);
      assert.equal(serviceLimit(third.limit, 'deployment').r, 0);
      const onPeer = await heartbeat(peer.graphqlUrl, token);
      assert.equal(onPeer.status, 429, 'the peer counts what the first process spent');
      assert.equal(onPeer.code, 'RATE_LIMITED');
      assert.ok(Number(onPeer.retryAfter) >= 1);
    } finally {
      await peer.close();
      await server.graphql(TestStopDeploymentDocument, { id }, vendor.apiKey);
    }
  });

  it('gives each API key 600 requests a minute by default, announced in the RateLimit headers, and refuses the 601st', async function () {
    this.timeout(60_000);
    const vendor = await server.createVendor();
    const first = await post(server.graphqlUrl, TestMeRoleDocument, {}, vendor.apiKey);
    assert.equal(first.status, 200);
    assert.equal(first.policy, '"api-key";q=600;w=60');
    assert.equal(serviceLimit(first.limit, 'api-key').r, 599);

    let remaining = 599;
    while (remaining > 0) {
      const batch = Math.min(remaining, 25);
      const answers = await Promise.all(Array.from({ length: batch }, () => post(server.graphqlUrl, TestMeRoleDocument, {}, vendor.apiKey)));
      assert.deepEqual(new Set(answers.map((answer) => answer.status)), new Set([200]));
      remaining -= batch;
    }
    const refused = await post(server.graphqlUrl, TestMeRoleDocument, {}, vendor.apiKey);
    assert.equal(refused.status, 429);
    assert.equal(refused.code, 'RATE_LIMITED');
    assert.ok(Number(refused.retryAfter) >= 1);
    assert.equal(serviceLimit(refused.limit, 'api-key').r, 0);

    // The vendor's other key, and the admin key, have allowances of their own.
    const admin = await post(server.graphqlUrl, TestMeRoleDocument, {}, server.adminKey);
    assert.equal(admin.status, 200);
  });

  it('puts no RateLimit headers on anonymous requests or on refused credentials', async function () {
    const anonymous = await post(server.graphqlUrl, TestMeRoleDocument, {});
    assert.equal(anonymous.policy, null);
    assert.equal(anonymous.limit, null);
    const refused = await post(server.graphqlUrl, TestMeRoleDocument, {}, 'vk_nonsense');
    assert.equal(refused.status, 401);
    assert.equal(refused.policy, null);
  });
});
