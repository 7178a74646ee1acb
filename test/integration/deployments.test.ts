import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { writeQuietServingTemplate } from '../helpers/serving-template';
import { startTestServer, type TestServer } from '../helpers/server';
import { createLogger } from '../../server/logger';
import { DeploymentLogWriter } from '../../server/modules/deployments/deployment-log-writer';
import {
  TestCreateDeploymentDocument,
  TestDeploymentDocument,
  type TestDeploymentQuery,
  TestDeploymentHealthDocument,
  TestDeploymentsDocument,
  TestLinkDeploymentDocument,
  TestRotateDeploymentTokenDocument,
  TestSendHeartbeatDocument,
  TestStopDeploymentDocument,
} from '../../generated/test-operations';

const silentLogger = createLogger('silent');

describe('deployments', function () {
  let server: TestServer;
  let templates: string;

  before(async function () {
    templates = mkdtempSync(path.join(tmpdir(), 'mp-deploy-templates-'));
    writeQuietServingTemplate(templates);
    server = await startTestServer({ MP_TEMPLATES_DIR: templates });
  });

  after(async function () {
    await server?.close();
    rmSync(templates, { recursive: true, force: true });
  });

  async function deploy(apiKey: string, input: Record<string, unknown> = {}) {
    const created = await server.graphql(
      TestCreateDeploymentDocument,
      { input: { name: `model-${Math.random().toString(36).slice(2, 8)}`, ...input } },
      apiKey,
    );
    assert.equal(created.errors, undefined, JSON.stringify(created.errors));
    return created.data!.createDeployment;
  }

  async function waitFor(apiKey: string, id: string, check: (deployment: TestDeploymentQuery['deployment']) => boolean, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const read = await server.graphql(TestDeploymentDocument, { id }, apiKey);
      const deployment = read.data?.deployment;
      if (deployment && check(deployment)) return deployment;
      if (Date.now() > deadline) assert.fail(`timed out waiting on ${id}: ${JSON.stringify(deployment ?? read.errors)}`);
      await sleep(50);
    }
  }

  it('starts a LOCAL deployment as a child process: PENDING, PROVISIONING, STARTING, and RUNNING with HEALTHY on a READY heartbeat', async function () {
    const vendor = await server.createVendor();
    const { deployment, token } = await deploy(vendor.apiKey);
    assert.match(token ?? '', /^sit_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}$/);
    assert.equal(deployment.tokenPrefix, `${token!.slice(0, 16)}_…`);
    const starting = await waitFor(vendor.apiKey, deployment.id, (d) => d.status === 'STARTING');
    assert.match(starting.endpointUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
    let answered: number | undefined;
    for (let attempt = 0; attempt < 100 && answered === undefined; attempt += 1) {
      answered = await fetch(`${starting.endpointUrl}/health`).then(
        (response) => response.status,
        () => sleep(50).then(() => undefined),
      );
    }
    assert.equal(answered, 200, 'the endpoint process answers');

    const beat = await server.graphql(TestSendHeartbeatDocument, { input: { status: 'READY', latencyMs: 3.5, version: 'built-in' } }, token!);
    assert.equal(beat.errors, undefined, JSON.stringify(beat.errors));
    assert.equal(beat.data!.sendHeartbeat.health, 'HEALTHY');
    // Log lines are stored in batches, a fraction of a second after they are printed.
    const read = await waitFor(vendor.apiKey, deployment.id, (d) => d.logs.some((line) => line.includes(`for ${deployment.id}`)));
    assert.equal(read.status, 'RUNNING');
    assert.equal(read.health, 'HEALTHY');
    assert.deepEqual(read.actions, ['STOP', 'ROTATE_TOKEN', 'LINK_INFRA']);
    assert.deepEqual(
      read.history.map((event) => event.status),
      ['PENDING', 'PROVISIONING', 'STARTING', 'RUNNING'],
    );
    assert.ok(
      read.logs.some((line) => line.includes(`for ${deployment.id} token sit_`) && line.includes('[REDACTED]') && !line.includes(token!.slice(18))),
      `the endpoint's output is kept, masked: ${JSON.stringify(read.logs)}`,
    );
  });

  it('refuses a heartbeat made with an API key (FORBIDDEN) and after the deployment stopped (its token is revoked)', async function () {
    const vendor = await server.createVendor();
    const { deployment, token } = await deploy(vendor.apiKey);
    await waitFor(vendor.apiKey, deployment.id, (d) => d.status === 'STARTING');
    const withKey = await server.graphql(TestSendHeartbeatDocument, { input: { status: 'READY' } }, vendor.apiKey);
    assert.equal(withKey.errors?.[0].extensions?.code, 'FORBIDDEN');
    assert.match(withKey.errors![0].message, /deployment's own token/);

    const stopped = await server.graphql(TestStopDeploymentDocument, { id: deployment.id }, vendor.apiKey);
    assert.equal(stopped.errors, undefined, JSON.stringify(stopped.errors));
    assert.equal(stopped.data!.stopDeployment.status, 'STOPPED');
    assert.deepEqual(stopped.data!.stopDeployment.actions, []);
    const after = await server.graphql(TestSendHeartbeatDocument, { input: { status: 'READY' } }, token!);
    assert.equal(after.status, 401);
    assert.equal(after.errors?.[0].extensions?.code, 'UNAUTHENTICATED');
    const again = await server.graphql(TestStopDeploymentDocument, { id: deployment.id }, vendor.apiKey);
    assert.equal(again.errors?.[0].extensions?.code, 'PRECONDITION_FAILED');
  });

  it("hides another vendor's deployment (NOT_FOUND) and lists only one's own", async function () {
    const owner = await server.createVendor();
    const other = await server.createVendor();
    const { deployment } = await deploy(owner.apiKey);
    const read = await server.graphql(TestDeploymentDocument, { id: deployment.id }, other.apiKey);
    assert.equal(read.errors?.[0].extensions?.code, 'NOT_FOUND');
    const stop = await server.graphql(TestStopDeploymentDocument, { id: deployment.id }, other.apiKey);
    assert.equal(stop.errors?.[0].extensions?.code, 'NOT_FOUND');
    const list = await server.graphql(TestDeploymentsDocument, {}, other.apiKey);
    assert.equal(list.data!.deployments.totalCount, 0);
    await server.graphql(TestStopDeploymentDocument, { id: deployment.id }, owner.apiKey);
  });

  it('marks a deployment UNHEALTHY after 3 missed intervals and HEALTHY again on the next heartbeat, pushing both to deploymentHealth', async function () {
    this.timeout(30_000);
    const vendor = await server.createVendor();
    const { deployment, token } = await deploy(vendor.apiKey, { heartbeatIntervalSeconds: 1 });
    await waitFor(vendor.apiKey, deployment.id, (d) => d.status === 'STARTING');
    const events: { status: string; health: string; reason: string }[] = [];
    const client = createClient({
      url: server.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${vendor.apiKey}` },
    });
    const unsubscribe = client.subscribe(
      { query: TestDeploymentHealthDocument.toString(), variables: { id: deployment.id } },
      {
        next: (result) => events.push((result.data as { deploymentHealth: (typeof events)[number] }).deploymentHealth),
        error: () => undefined,
        complete: () => undefined,
      },
    );
    try {
      await sleep(300);
      await server.graphql(TestSendHeartbeatDocument, { input: { status: 'READY' } }, token!);
      await waitFor(vendor.apiKey, deployment.id, (d) => d.health === 'UNHEALTHY', 10_000);
      const beat = await server.graphql(TestSendHeartbeatDocument, { input: { status: 'READY' } }, token!);
      assert.equal(beat.data!.sendHeartbeat.health, 'HEALTHY');
      const deadline = Date.now() + 5000;
      while (events.length < 4 && Date.now() < deadline) await sleep(50);
      assert.deepEqual(
        events.map((event) => `${event.status} ${event.health}`),
        ['STARTING UNKNOWN', 'RUNNING HEALTHY', 'RUNNING UNHEALTHY', 'RUNNING HEALTHY'],
        'the state at subscription first, then each change',
      );
      assert.equal(events[0].reason, 'started: waiting for its first READY heartbeat');
      assert.match(events[2].reason, /no heartbeat for 3 s \(3 intervals of 1 s\)/);
    } finally {
      unsubscribe();
      await client.dispose();
      await server.graphql(TestStopDeploymentDocument, { id: deployment.id }, vendor.apiKey);
    }
  });

  it('keeps the newest 200 changes of a flapping deployment, each heartbeat answered with the state it made', async function () {
    this.timeout(60_000);
    const vendor = await server.createVendor();
    const { deployment, token } = await deploy(vendor.apiKey, { rateLimitPerMinute: 1000 });
    await waitFor(vendor.apiKey, deployment.id, (d) => d.status === 'STARTING');
    for (let i = 0; i < 210; i += 1) {
      const status = i % 2 === 0 ? 'READY' : 'BUSY';
      const beat = await server.graphql(TestSendHeartbeatDocument, { input: { status } }, token!);
      assert.equal(beat.data?.sendHeartbeat.health, status === 'READY' ? 'HEALTHY' : 'DEGRADED', JSON.stringify(beat.errors));
    }
    const steady = await server.graphql(TestSendHeartbeatDocument, { input: { status: 'BUSY' } }, token!);
    assert.equal(steady.data?.sendHeartbeat.health, 'DEGRADED', 'a heartbeat that changes nothing');
    const read = (await server.graphql(TestDeploymentDocument, { id: deployment.id }, vendor.apiKey)).data!.deployment;
    assert.equal(read.history.length, 200);
    assert.deepEqual(read.history.at(-1), { status: 'RUNNING', health: 'DEGRADED', reason: 'heartbeat: the endpoint reports BUSY' });
    await server.graphql(TestStopDeploymentDocument, { id: deployment.id }, vendor.apiKey);
  });

  it('stores log lines in batches that continue one sequence whichever process writes, keeping the newest 1,000', async function () {
    const vendor = await server.createVendor();
    const { deployment } = await deploy(vendor.apiKey);
    await waitFor(vendor.apiKey, deployment.id, (d) => d.status === 'STARTING');
    await server.graphql(TestStopDeploymentDocument, { id: deployment.id }, vendor.apiKey);
    // Two writers, as two processes would be: their lines interleave in one sequence.
    const writers = [new DeploymentLogWriter(server.database.dataSource, silentLogger), new DeploymentLogWriter(server.database.dataSource, silentLogger)];
    for (let i = 1; i <= 1250; i += 1) writers[i % 2].write(deployment.id, 'stdout', `line ${i}`);
    await Promise.all(writers.map((writer) => writer.flush()));
    const rows: { seq: number; line: string }[] = await server.database.dataSource.query(
      `SELECT seq, line FROM deployment_log_lines WHERE deployment_id = $1 ORDER BY seq`,
      [deployment.id],
    );
    assert.ok(rows.length >= 1000 && rows.length < 1100, `the newest 1,000 and at most a hundred more (${rows.length})`);
    const seqs = rows.map((row) => Number(row.seq));
    assert.equal(rows.at(-1)!.line.startsWith('line '), true);
    assert.deepEqual(
      seqs,
      Array.from({ length: rows.length }, (_, i) => seqs[0] + i),
      'one gapless sequence',
    );
    assert.ok(seqs.at(-1)! >= 1250, 'every line got a number');
  });

  it('rotates the token: the old one is refused at once, the new one works', async function () {
    const vendor = await server.createVendor();
    const { deployment, token } = await deploy(vendor.apiKey);
    await waitFor(vendor.apiKey, deployment.id, (d) => d.status === 'STARTING');
    const rotated = await server.graphql(TestRotateDeploymentTokenDocument, { id: deployment.id }, vendor.apiKey);
    assert.equal(rotated.errors, undefined, JSON.stringify(rotated.errors));
    const fresh = rotated.data!.rotateDeploymentToken.token;
    assert.notEqual(fresh, token);
    assert.equal((await server.graphql(TestSendHeartbeatDocument, { input: { status: 'READY' } }, token!)).status, 401);
    const beat = await server.graphql(TestSendHeartbeatDocument, { input: { status: 'READY' } }, fresh);
    assert.equal(beat.errors, undefined, JSON.stringify(beat.errors));
    await server.graphql(TestStopDeploymentDocument, { id: deployment.id }, vendor.apiKey);
  });

  it('links a deployment to a signals URL and hands it over in the next heartbeat receipt', async function () {
    const vendor = await server.createVendor();
    const { deployment, token } = await deploy(vendor.apiKey);
    await waitFor(vendor.apiKey, deployment.id, (d) => d.status === 'STARTING');
    const linked = await server.graphql(
      TestLinkDeploymentDocument,
      { id: deployment.id, signalsUrl: 'https://infra.example/api/signals/store' },
      vendor.apiKey,
    );
    assert.equal(linked.data!.linkDeployment.signalsUrl, 'https://infra.example/api/signals/store');
    const beat = await server.graphql(TestSendHeartbeatDocument, { input: { status: 'READY' } }, token!);
    assert.equal(beat.data!.sendHeartbeat.signalsUrl, 'https://infra.example/api/signals/store');
    const bad = await server.graphql(TestLinkDeploymentDocument, { id: deployment.id, signalsUrl: 'ftp://nope' }, vendor.apiKey);
    assert.equal(bad.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
    await server.graphql(TestStopDeploymentDocument, { id: deployment.id }, vendor.apiKey);
  });

  it('creates once per idempotency key: the replay has the same deployment and no token; other input is CONFLICT', async function () {
    const vendor = await server.createVendor();
    const input = { name: 'idempotent-model' };
    const first = await server.graphql(TestCreateDeploymentDocument, { input, key: 'deploy-1' }, vendor.apiKey);
    const replay = await server.graphql(TestCreateDeploymentDocument, { input, key: 'deploy-1' }, vendor.apiKey);
    assert.equal(replay.data!.createDeployment.deployment.id, first.data!.createDeployment.deployment.id);
    assert.ok(first.data!.createDeployment.token);
    assert.equal(replay.data!.createDeployment.token, null);
    const other = await server.graphql(TestCreateDeploymentDocument, { input: { name: 'another-name' }, key: 'deploy-1' }, vendor.apiKey);
    assert.equal(other.errors?.[0].extensions?.code, 'CONFLICT');
    const sameName = await server.graphql(TestCreateDeploymentDocument, { input }, vendor.apiKey);
    assert.equal(sameName.errors?.[0].extensions?.code, 'CONFLICT');
    assert.match(sameName.errors![0].message, /already have a deployment named "idempotent-model"/);
    await server.graphql(TestStopDeploymentDocument, { id: first.data!.createDeployment.deployment.id }, vendor.apiKey);
  });

  it("refuses bad input naming each field, and another vendor's training run as NOT_FOUND", async function () {
    const vendor = await server.createVendor();
    const bad = await server.graphql(
      TestCreateDeploymentDocument,
      { input: { name: 'x', provider: 'RUNPOD', heartbeatIntervalSeconds: 0, model: { url: 'ftp://x', path: '/a' } } },
      vendor.apiKey,
    );
    assert.equal(bad.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
    const fields = (bad.errors![0].extensions!.fields as { field: string }[]).map((problem) => problem.field).sort();
    assert.deepEqual(fields, ['heartbeatIntervalSeconds', 'image', 'model', 'model.path', 'provider']);
    const outside = await server.graphql(TestCreateDeploymentDocument, { input: { name: 'x', model: { path: '/etc/passwd' } } }, vendor.apiKey);
    assert.equal(outside.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
    assert.match(outside.errors![0].message, /model\.path: must be a file under .*models/);
    const absent = await server.graphql(TestCreateDeploymentDocument, { input: { name: 'x', model: { path: 'absent.json' } } }, vendor.apiKey);
    assert.match(absent.errors?.[0].message ?? '', /model\.path: there is no file .*models\/absent\.json in the server's model directory/);
    const missing = await server.graphql(TestCreateDeploymentDocument, { input: { name: 'x', model: { trainingRunId: 'run_notyours' } } }, vendor.apiKey);
    assert.equal(missing.errors?.[0].extensions?.code, 'NOT_FOUND');
  });

  it("refuses to point a LOCAL deployment at the server's machine or its private networks, and nothing is created", async function () {
    const vendor = await server.createVendor();
    for (const [input, field, reason] of [
      [
        { model: { url: 'http://169.254.169.254/latest/meta-data/model.json' } },
        'model.url',
        /169\.254\.169\.254 is a loopback, private or link-local address/,
      ],
      [{ model: { url: 'http://localhost:5432/model.json' } }, 'model.url', /localhost is this machine/],
      [{ signalsUrl: 'http://[::1]:6379/' }, 'signalsUrl', /::1 is a loopback/],
      [{ signalsUrl: 'http://10.1.2.3/signals' }, 'signalsUrl', /10\.1\.2\.3 is a loopback, private or link-local address/],
    ] as const) {
      const refused = await server.graphql(TestCreateDeploymentDocument, { input: { name: 'egress', ...input } }, vendor.apiKey);
      assert.equal(refused.errors?.[0].extensions?.code, 'BAD_USER_INPUT', JSON.stringify(input));
      assert.deepEqual(
        (refused.errors![0].extensions!.fields as { field: string }[]).map((problem) => problem.field),
        [field],
      );
      assert.match(refused.errors![0].message, reason);
      assert.match(refused.errors![0].message, /MP_LOCAL_EGRESS_ALLOW_HOSTS/);
    }
    assert.equal((await server.graphql(TestDeploymentsDocument, {}, vendor.apiKey)).data!.deployments.totalCount, 0);

    const { deployment } = await deploy(vendor.apiKey);
    const relinked = await server.graphql(TestLinkDeploymentDocument, { id: deployment.id, signalsUrl: 'http://127.0.0.1:5432/' }, vendor.apiKey);
    assert.equal(relinked.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
    const own = await server.graphql(TestLinkDeploymentDocument, { id: deployment.id, signalsUrl: `${server.url}/api/signals/store` }, vendor.apiKey);
    assert.equal(own.errors, undefined, "the marketplace's own address is allowed");
    await server.graphql(TestStopDeploymentDocument, { id: deployment.id }, vendor.apiKey);
  });

  describe('with the built-in serving template', function () {
    let real: TestServer;

    before(async function () {
      real = await startTestServer();
    });

    after(async function () {
      await real?.close();
    });

    it('becomes RUNNING and HEALTHY from its own heartbeats and answers /v1/signal; stopping ends its process', async function () {
      this.timeout(60_000);
      const vendor = await real.createVendor();
      const created = await real.graphql(TestCreateDeploymentDocument, { input: { name: 'built-in', heartbeatIntervalSeconds: 1 } }, vendor.apiKey);
      assert.equal(created.errors, undefined, JSON.stringify(created.errors));
      const id = created.data!.createDeployment.deployment.id;
      const deadline = Date.now() + 45_000;
      let read = (await real.graphql(TestDeploymentDocument, { id }, vendor.apiKey)).data!.deployment;
      while (!(read.status === 'RUNNING' && read.health === 'HEALTHY') && Date.now() < deadline) {
        assert.notEqual(read.status, 'FAILED', JSON.stringify(read));
        await sleep(200);
        read = (await real.graphql(TestDeploymentDocument, { id }, vendor.apiKey)).data!.deployment;
      }
      assert.equal(read.status, 'RUNNING', JSON.stringify(read));
      assert.equal(read.health, 'HEALTHY');
      const answer = await fetch(`${read.endpointUrl}/v1/signal`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ symbol: 'AAPL', asOf: '2026-11-30T00:00:00Z', horizonDays: 5, featureVector: [0.1, 0.5, 0.9] }),
      });
      assert.equal(answer.status, 200);
      const body = (await answer.json()) as { score: number; confidence: number };
      assert.ok(body.score >= 0 && body.score <= 1 && body.confidence >= 0 && body.confidence <= 1, JSON.stringify(body));

      const stopped = await real.graphql(TestStopDeploymentDocument, { id }, vendor.apiKey);
      assert.equal(stopped.data!.stopDeployment.status, 'STOPPED');
      await assert.rejects(fetch(`${read.endpointUrl}/health`), 'the endpoint process is gone');
    });
  });
});
