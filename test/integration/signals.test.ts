import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { writeQuietServingTemplate } from '../helpers/serving-template';
import { startTestServer, usingPostgres, type TestServer } from '../helpers/server';
import { TestCreateDeploymentDocument, TestDeploymentDocument, TestStopDeploymentDocument } from '../../generated/test-operations';

interface WriteResult {
  round: number;
  written: number;
  revised: number;
  unchanged: number;
  rejected: { index: number; symbol: string | null; reason: string; message: string }[];
}

const WRITE = `mutation ($signals: [SignalWrite!]!) {
  writeSignals(signals: $signals) { round written revised unchanged rejected { index symbol reason message } }
}`;
const READ = `query ($filter: SignalFilter, $first: Int, $after: String) {
  signals(filter: $filter, first: $first, after: $after) {
    nodes { symbol asOf horizonDays score confidence deploymentId modelId round writtenAt vendor { id handle } }
    pageInfo { hasNextPage endCursor }
  }
}`;

describe(`the signal store (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  this.timeout(60_000);
  let server: TestServer;
  let templates: string;
  let symbols: string[];
  let liveFrom: string;
  let vendor: { vendorId: string; handle: string; apiKey: string };
  let deploymentId: string;
  let token: string;

  before(async function () {
    templates = mkdtempSync(path.join(tmpdir(), 'mp-signals-templates-'));
    writeQuietServingTemplate(templates);
    server = await startTestServer({ MP_TEMPLATES_DIR: templates });
    const round = await server.graphql<{ currentRound: { symbols: string[]; splits: { kind: string; firstDate: string }[] } }>(
      '{ currentRound { symbols splits { kind firstDate } } }',
    );
    symbols = round.data!.currentRound.symbols;
    liveFrom = round.data!.currentRound.splits.find((split) => split.kind === 'LIVE')!.firstDate;
    vendor = await server.createVendor();
    ({ deploymentId, token } = await deploy(vendor.apiKey));
  });

  after(async function () {
    await server?.close();
    rmSync(templates, { recursive: true, force: true });
  });

  async function deploy(apiKey: string): Promise<{ deploymentId: string; token: string }> {
    const created = await server.graphql(TestCreateDeploymentDocument, { input: { name: `signals-${Math.random().toString(36).slice(2, 8)}` } }, apiKey);
    assert.equal(created.errors, undefined, JSON.stringify(created.errors));
    const id = created.data!.createDeployment.deployment.id;
    for (let attempt = 0; attempt < 200; attempt += 1) {
      const read = await server.graphql(TestDeploymentDocument, { id }, apiKey);
      if (read.data?.deployment.status === 'STARTING') break;
      await sleep(50);
    }
    return { deploymentId: id, token: created.data!.createDeployment.token! };
  }

  function signal(i: number, overrides: Record<string, unknown> = {}) {
    const day = new Date(Date.parse(`${liveFrom}T00:00:00Z`) + i * 86_400_000);
    return { symbol: symbols[i % symbols.length], asOf: day.toISOString(), horizonDays: 5, score: 0.25 + (i % 50) / 100, confidence: 0.8, ...overrides };
  }

  async function write(signals: unknown[], bearer = token): Promise<{ data?: WriteResult; errors?: { message: string; extensions?: { code?: string } }[] }> {
    const answer = await server.graphql<{ writeSignals: WriteResult }>(WRITE, { signals }, bearer);
    return { data: answer.data?.writeSignals, errors: answer.errors };
  }

  async function post(body: unknown, headers: Record<string, string> = {}, bearer = token) {
    const response = await fetch(`${server.url}/api/signals/store`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as WriteResult & { errors?: { message: string; extensions: { code: string } }[] },
    };
  }

  it("stores a batch attributed to the token's deployment and vendor; the same batch again writes nothing twice", async function () {
    const batch = Array.from({ length: 40 }, (_, i) => signal(i));
    const first = await write(batch);
    assert.equal(first.errors, undefined, JSON.stringify(first.errors));
    assert.deepEqual({ ...first.data!, rejected: first.data!.rejected.length }, { round: 1, written: 40, revised: 0, unchanged: 0, rejected: 0 });
    const again = await write(batch);
    assert.deepEqual({ ...again.data!, rejected: again.data!.rejected.length }, { round: 1, written: 0, revised: 0, unchanged: 40, rejected: 0 });

    const read = await server.graphql<{ signals: { nodes: { symbol: string; deploymentId: string; vendor: { id: string }; round: number; score: number }[] } }>(
      READ,
      { filter: { deployment: deploymentId }, first: 100 },
      vendor.apiKey,
    );
    assert.equal(read.errors, undefined, JSON.stringify(read.errors));
    assert.equal(read.data!.signals.nodes.length, 40);
    assert.ok(read.data!.signals.nodes.every((node) => node.deploymentId === deploymentId && node.vendor.id === vendor.vendorId && node.round === 1));
  });

  it('revises a signal while its round is open, and says which of a batch it refused and why', async function () {
    const revised = await write([signal(0, { score: 0.99 }), signal(1)]);
    assert.deepEqual([revised.data!.revised, revised.data!.unchanged], [1, 1]);

    const future = new Date(Date.now() + 86_400_000).toISOString();
    const bad = await write([
      signal(100),
      signal(101, { symbol: 'NOPE' }),
      signal(102, { asOf: future }),
      signal(103, { asOf: '1990-01-02T00:00:00Z' }),
      signal(104, { score: 1.5 }),
      signal(100),
      signal(105, { horizonDays: 0 }),
    ]);
    assert.equal(bad.errors, undefined, JSON.stringify(bad.errors));
    assert.equal(bad.data!.written, 1);
    assert.deepEqual(
      bad.data!.rejected.map((rejection) => [rejection.index, rejection.reason]),
      [
        [1, 'UNKNOWN_SYMBOL'],
        [2, 'OUT_OF_ROUND'],
        [3, 'OUT_OF_ROUND'],
        [4, 'INVALID'],
        [5, 'DUPLICATE'],
        [6, 'INVALID'],
      ],
    );
    assert.match(bad.data!.rejected[0].message, /NOPE is not in round 1's universe/);
    assert.match(bad.data!.rejected[1].message, /is in the future/);
    assert.match(bad.data!.rejected[3].message, /score/);
    assert.match(bad.data!.rejected[4].message, /as signal 0/);
  });

  it('refuses a CONFLICT for a changed signal once its round no longer takes revisions', async function () {
    // The round closing is the operator's business; here the stored row is moved to a closed round of its own.
    await server.database.dataSource.query(
      `INSERT INTO dataset_rounds (number, name, status, symbols, horizon_days, feature_names, splits, target_thresholds)
       SELECT 90, 'closed for the test', 'CLOSED', symbols, horizon_days, feature_names, splits, target_thresholds FROM dataset_rounds WHERE number = 1`,
    );
    await server.database.dataSource.query(`UPDATE signals SET round_number = 90 WHERE deployment_id = $1 AND as_of = $2`, [deploymentId, signal(2).asOf]);
    const answer = await write([signal(2, { score: 0.01 }), signal(2, { horizonDays: 10 })]);
    assert.equal(answer.data!.written, 1, 'another horizon is another signal');
    assert.deepEqual(
      answer.data!.rejected.map((rejection) => rejection.reason),
      ['CONFLICT'],
    );
    assert.match(answer.data!.rejected[0].message, /no longer takes revisions/);
    const same = await write([signal(2)]);
    assert.equal(same.data!.unchanged, 1, 'the same value is still no conflict');
  });

  it('takes the same batch over HTTP at /api/signals/store, honouring Idempotency-Key and the rate limit headers', async function () {
    const batch = { signals: [signal(200), signal(201)] };
    const first = await post(batch, { 'idempotency-key': 'batch-200' });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual([first.body.written, first.body.unchanged], [2, 0]);
    assert.match(first.headers.get('ratelimit') ?? '', /"deployment";r=\d+;t=\d+/);
    const replay = await post(batch, { 'idempotency-key': 'batch-200' });
    assert.deepEqual([replay.body.written, replay.body.unchanged], [2, 0], 'the first answer again');
    const other = await post({ signals: [signal(202)] }, { 'idempotency-key': 'batch-200' });
    assert.equal(other.status, 409);
    assert.equal(other.body.errors![0].extensions.code, 'CONFLICT');
  });

  it('refuses what is no signal write, with a status and a message saying why', async function () {
    assert.equal((await post({ signals: [signal(300)] }, {}, vendor.apiKey)).status, 403, 'a vendor key');
    assert.equal((await post({ signals: [signal(300)] }, {}, 'sit_000000000000_00000000000000000000000000000000000000')).status, 401);
    assert.equal((await post('{"signals": [', {})).status, 400);
    assert.equal((await post({ rows: [] })).status, 400);
    assert.equal((await post({ signals: [signal(300)] }, { 'content-type': 'text/csv' })).status, 415);
    const tooMany = await post({ signals: Array.from({ length: 5001 }, (_, i) => signal(i)) });
    assert.equal(tooMany.status, 400);
    assert.match(tooMany.body.errors![0].message, /1 to 5000 in one write \(got 5001\)/);
    const viaGraphQL = await write([signal(300)], vendor.apiKey);
    assert.equal(viaGraphQL.errors?.[0].extensions?.code, 'FORBIDDEN');
  });

  it("shows a vendor only its own signals, an admin everyone's, and stops a revoked token", async function () {
    const other = await server.createVendor();
    const mine = await server.graphql<{ signals: { nodes: unknown[] } }>(READ, { first: 100 }, other.apiKey);
    assert.deepEqual(mine.data!.signals.nodes, []);
    const snooping = await server.graphql(READ, { filter: { vendor: vendor.handle } }, other.apiKey);
    assert.equal(snooping.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
    const admin = await server.graphql<{ signals: { nodes: { vendor: { handle: string } }[] } }>(
      READ,
      { filter: { vendor: vendor.handle }, first: 5 },
      server.adminKey,
    );
    assert.equal(admin.data!.signals.nodes.length, 5);
    assert.ok(admin.data!.signals.nodes.every((node) => node.vendor.handle === vendor.handle));

    const second = await deploy(vendor.apiKey);
    await server.graphql(TestStopDeploymentDocument, { id: second.deploymentId }, vendor.apiKey);
    const revoked = await post({ signals: [signal(400)] }, {}, second.token);
    assert.equal(revoked.status, 401);
  });

  it('pages through signals newest asOf first', async function () {
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 20; page += 1) {
      const read: {
        data?: { signals: { nodes: { asOf: string; symbol: string; horizonDays: number }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };
      } = await server.graphql(READ, { filter: { deployment: deploymentId }, first: 7, after }, vendor.apiKey);
      seen.push(...read.data!.signals.nodes.map((node) => `${node.asOf}|${node.symbol}|${node.horizonDays}`));
      if (!read.data!.signals.pageInfo.hasNextPage) break;
      after = read.data!.signals.pageInfo.endCursor;
    }
    assert.equal(new Set(seen).size, seen.length, 'no signal twice');
    const asOfs = seen.map((key) => Date.parse(key.split('|')[0]));
    assert.deepEqual(
      asOfs,
      [...asOfs].sort((a, b) => b - a),
    );
  });

  it('pushes each stored signal to signalWritten subscribers of its symbols, and only those', async function () {
    const client = createClient({
      url: server.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${server.adminKey}` },
    });
    const received: { symbol: string; score: number }[] = [];
    const watched = symbols[0];
    const unsubscribe = client.subscribe(
      { query: `subscription ($symbols: [String!]) { signalWritten(symbols: $symbols) { symbol score deploymentId } }`, variables: { symbols: [watched] } },
      {
        next: (message) => received.push((message.data as { signalWritten: { symbol: string; score: number } }).signalWritten),
        error: () => undefined,
        complete: () => undefined,
      },
    );
    // A newer open round with a wider universe than the demo round's single index.
    await server.database.dataSource.query(
      `INSERT INTO dataset_rounds (number, name, status, symbols, horizon_days, feature_names, splits, target_thresholds)
       SELECT 95, 'wider for the test', 'OPEN', symbols || '{AAA,BBB,CCC}'::text[], horizon_days, feature_names, splits, target_thresholds FROM dataset_rounds WHERE number = 1`,
    );
    try {
      await sleep(300);
      const batch = [watched, 'AAA', 'BBB', 'CCC'].map((symbol, i) => signal(500 + i, { symbol }));
      await write(batch);
      for (let waited = 0; waited < 5000 && received.length < 1; waited += 50) await sleep(50);
      await sleep(200);
      assert.deepEqual(
        received.map((signal) => signal.symbol),
        [watched],
      );
      assert.equal((await write([signal(600, { symbol: 'AAA' })])).data!.round, 95, 'signals count for the newest open round');
    } finally {
      unsubscribe();
      await client.dispose();
    }
  });
});

describe(`a deployment of the built-in serving template, linked to the marketplace's store (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  this.timeout(90_000);
  let server: TestServer;

  before(async function () {
    server = await startTestServer();
  });

  after(async function () {
    await server?.close();
  });

  it('writes every answer it gives to the signal store, attributed to its deployment', async function () {
    const vendor = await server.createVendor();
    const created = await server.graphql(TestCreateDeploymentDocument, { input: { name: 'store-writer', heartbeatIntervalSeconds: 1 } }, vendor.apiKey);
    assert.equal(created.errors, undefined, JSON.stringify(created.errors));
    const id = created.data!.createDeployment.deployment.id;
    let endpointUrl: string | null | undefined;
    for (let attempt = 0; attempt < 600 && !endpointUrl; attempt += 1) {
      const read = await server.graphql(TestDeploymentDocument, { id }, vendor.apiKey);
      if (read.data?.deployment.status === 'RUNNING') endpointUrl = read.data.deployment.endpointUrl;
      else await sleep(100);
    }
    assert.ok(endpointUrl, 'the deployment became RUNNING');
    const linked = await server.graphql('mutation ($id: ID!) { linkDeployment(id: $id) { signalsUrl } }', { id }, vendor.apiKey);
    assert.equal((linked.data as { linkDeployment: { signalsUrl: string } }).linkDeployment.signalsUrl, `${server.url}/api/signals/store`);
    // The endpoint hears of the link with its next heartbeat receipt (every second here).
    await sleep(2500);

    const round = await server.graphql<{ currentRound: { splits: { kind: string; firstDate: string }[] } }>('{ currentRound { splits { kind firstDate } } }');
    const asOf = `${round.data!.currentRound.splits.find((split) => split.kind === 'LIVE')!.firstDate}T21:00:00.000Z`;
    const answered = await fetch(`${endpointUrl}/v1/signal`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ symbol: 'SPX', asOf, horizonDays: 5, featureVector: [0.1, 0.5, 0.9] }),
    });
    assert.equal(answered.status, 200);
    const { score } = (await answered.json()) as { score: number };

    let stored: { symbol: string; asOf: string; score: number; deploymentId: string }[] = [];
    for (let attempt = 0; attempt < 100 && stored.length === 0; attempt += 1) {
      const read = await server.graphql<{ signals: { nodes: typeof stored } }>(READ, { filter: { deployment: id } }, vendor.apiKey);
      stored = read.data?.signals.nodes ?? [];
      if (stored.length === 0) await sleep(100);
    }
    assert.deepEqual(
      stored.map((signal) => [signal.symbol, signal.asOf, signal.score, signal.deploymentId]),
      [['SPX', asOf, score, id]],
    );
    await server.graphql(TestStopDeploymentDocument, { id }, vendor.apiKey);
  });
});
