import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeQuietServingTemplate } from '../helpers/serving-template';
import { startTestServer, usingPostgres, type TestServer } from '../helpers/server';
import { runMp } from '../helpers/cli-process';
import { TestCreateDeploymentDocument, TestDeploymentDocument, TestSendHeartbeatDocument, TestStopDeploymentDocument } from '../../generated/test-operations';

interface ConsensusAnswer {
  symbol: string;
  score: number | null;
  dispersion: number | null;
  models: number;
  method: string;
  contributors: { model: { slug: string }; vendor: { handle: string }; score: number; weight: number }[];
}

const CONSENSUS = `query ($symbol: String!, $asOf: DateTime) {
  consensus(symbol: $symbol, asOf: $asOf) { symbol score dispersion models method contributors { model { slug } vendor { handle } score weight } }
}`;

describe(`consensus (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  this.timeout(90_000);
  let server: TestServer;
  let templates: string;
  let asOf: string;

  before(async function () {
    templates = mkdtempSync(path.join(tmpdir(), 'mp-consensus-templates-'));
    writeQuietServingTemplate(templates);
    server = await startTestServer({ MP_TEMPLATES_DIR: templates });
    const round = await server.graphql<{ currentRound: { splits: { kind: string; firstDate: string }[] } }>('{ currentRound { splits { kind firstDate } } }');
    asOf = `${round.data!.currentRound.splits.find((split) => split.kind === 'LIVE')!.firstDate}T21:00:00.000Z`;
  });

  after(async function () {
    await server?.close();
    rmSync(templates, { recursive: true, force: true });
  });

  /** A vendor with a registered, LIVE model that wrote one signal for SPX. */
  async function liveModel(name: string, score: number, live = true) {
    const vendor = await server.createVendor();
    const created = await server.graphql(TestCreateDeploymentDocument, { input: { name } }, vendor.apiKey);
    const id = created.data!.createDeployment.deployment.id;
    const token = created.data!.createDeployment.token!;
    for (let attempt = 0; attempt < 200; attempt += 1) {
      if ((await server.graphql(TestDeploymentDocument, { id }, vendor.apiKey)).data?.deployment.status === 'STARTING') break;
      await sleep(50);
    }
    const registered = await server.graphql(
      'mutation ($input: RegisterModelInput!) { registerModel(input: $input) { slug } }',
      { input: { name, deploymentId: id } },
      vendor.apiKey,
    );
    assert.equal(registered.errors, undefined, JSON.stringify(registered.errors));
    await server.graphql(TestSendHeartbeatDocument, { input: { status: 'READY' } }, token);
    const written = await server.graphql<{ writeSignals: { written: number } }>(
      'mutation ($signals: [SignalWrite!]!) { writeSignals(signals: $signals) { written } }',
      { signals: [{ symbol: 'SPX', asOf, horizonDays: 5, score, confidence: 0.5 }] },
      token,
    );
    assert.equal(written.data?.writeSignals.written, 1, JSON.stringify(written.errors));
    if (!live) await server.graphql(TestStopDeploymentDocument, { id }, vendor.apiKey);
    return vendor;
  }

  it('combines the latest signal of every LIVE model, equally weighted, showing a vendor only its own part', async function () {
    const first = await liveModel('Alpha', 0.8);
    const second = await liveModel('Beta', 0.4);
    await liveModel('Gone', 0.1, false);

    const admin = await server.graphql<{ consensus: ConsensusAnswer }>(CONSENSUS, { symbol: 'SPX', asOf }, server.adminKey);
    assert.equal(admin.errors, undefined, JSON.stringify(admin.errors));
    const answer = admin.data!.consensus;
    assert.equal(answer.models, 2, 'the stopped model is OFFLINE and left out');
    assert.equal(answer.method, 'equal-weight');
    assert.ok(Math.abs(answer.score! - 0.6) < 1e-12);
    assert.ok(Math.abs(answer.dispersion! - 0.2) < 1e-12);
    assert.deepEqual(
      answer.contributors.map((c) => [c.vendor.handle, c.score, c.weight]).sort(),
      [
        [first.handle, 0.8, 0.5],
        [second.handle, 0.4, 0.5],
      ].sort(),
    );

    const vendorView = await server.graphql<{ consensus: ConsensusAnswer }>(CONSENSUS, { symbol: 'SPX', asOf }, first.apiKey);
    assert.equal(vendorView.data!.consensus.models, 2);
    assert.deepEqual(
      vendorView.data!.consensus.contributors.map((c) => c.vendor.handle),
      [first.handle],
    );

    const before = await server.graphql<{ consensus: ConsensusAnswer }>(CONSENSUS, { symbol: 'SPX', asOf: '2001-01-01T00:00:00Z' }, server.adminKey);
    assert.deepEqual([before.data!.consensus.score, before.data!.consensus.models], [null, 0], 'no signal at that time: an empty answer, not an error');
    const nobody = await server.graphql<{ consensus: ConsensusAnswer }>(CONSENSUS, { symbol: 'ZZZ' }, first.apiKey);
    assert.deepEqual([nobody.data!.consensus.score, nobody.data!.consensus.dispersion, nobody.data!.consensus.contributors], [null, null, []]);
    const anonymous = await server.graphql(CONSENSUS, { symbol: 'SPX' });
    assert.equal(anonymous.errors?.[0].extensions?.code, 'UNAUTHENTICATED');

    // The same from the CLI.
    const mp = (args: string[]) =>
      runMp(args, { env: { XDG_CONFIG_HOME: templates, MP_API_KEY: first.apiKey, MP_API_URL: server.graphqlUrl }, timeoutMs: 60_000 });
    const shown = await mp(['consensus', 'SPX', '--as-of', asOf, '--json']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.deepEqual((JSON.parse(shown.stdout) as ConsensusAnswer).models, 2);
    const text = await mp(['consensus', 'SPX', '--as-of', asOf]);
    assert.match(text.stdout, /Consensus: +0\.6000\n/);
    assert.match(text.stdout, /Models: +2 \(equal-weight\)/);
    const listed = await mp(['signals', 'list', '--symbol', 'SPX', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      (JSON.parse(listed.stdout) as { vendor: { handle: string }; score: number }[]).map((signal) => [signal.vendor.handle, signal.score]),
      [[first.handle, 0.8]],
    );
    const badTime = await mp(['consensus', 'SPX', '--as-of', 'yesterday']);
    assert.equal(badTime.code, 2);
    assert.match(badTime.stderr, /--as-of must be an ISO 8601 date-time/);
  });
});
