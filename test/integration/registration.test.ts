import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { writeQuietServingTemplate } from '../helpers/serving-template';
import { startTestServer, usingPostgres, type TestServer } from '../helpers/server';
import { runMp, type CliResult } from '../helpers/cli-process';
import { TestCreateDeploymentDocument, TestDeploymentDocument, TestSendHeartbeatDocument, TestStopDeploymentDocument } from '../../generated/test-operations';

interface Listing {
  id: string;
  name: string;
  slug: string;
  status: string;
  liveStatus: string;
  liveSince: string | null;
  tags: string[];
  vendor: { handle: string };
  deployment: { id: string } | null;
}

const FIELDS = 'id name slug status liveStatus liveSince tags vendor { handle } deployment { id }';
const REGISTER = `mutation ($input: RegisterModelInput!) { registerModel(input: $input) { ${FIELDS} } }`;
const LISTING = `query ($slug: String) { catalogModel(slug: $slug) { ${FIELDS} } }`;

describe(`mp register: models in the catalog, LIVE while their deployment is HEALTHY (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  this.timeout(90_000);
  let server: TestServer;
  let templates: string;
  let home: string;

  before(async function () {
    templates = mkdtempSync(path.join(tmpdir(), 'mp-register-templates-'));
    writeQuietServingTemplate(templates);
    home = mkdtempSync(path.join(tmpdir(), 'mp-register-home-'));
    server = await startTestServer({ MP_TEMPLATES_DIR: templates });
  });

  after(async function () {
    await server?.close();
    rmSync(templates, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  async function deploy(apiKey: string): Promise<{ id: string; token: string }> {
    const created = await server.graphql(TestCreateDeploymentDocument, { input: { name: `served-${Math.random().toString(36).slice(2, 8)}` } }, apiKey);
    assert.equal(created.errors, undefined, JSON.stringify(created.errors));
    const id = created.data!.createDeployment.deployment.id;
    for (let attempt = 0; attempt < 200; attempt += 1) {
      if ((await server.graphql(TestDeploymentDocument, { id }, apiKey)).data?.deployment.status === 'STARTING') break;
      await sleep(50);
    }
    return { id, token: created.data!.createDeployment.token! };
  }

  async function register(apiKey: string, input: Record<string, unknown>) {
    return server.graphql<{ registerModel: Listing }>(REGISTER, { input }, apiKey);
  }

  it('publishes the model OFFLINE, turns it LIVE with a READY heartbeat and pushes each change to catalogUpdated', async function () {
    const vendor = await server.createVendor();
    const deployment = await deploy(vendor.apiKey);
    const updates: Listing[] = [];
    const client = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    const unsubscribe = client.subscribe(
      { query: `subscription { catalogUpdated { ${FIELDS.replace(' deployment { id }', '')} } }` },
      { next: (message) => updates.push((message.data as { catalogUpdated: Listing }).catalogUpdated), error: () => undefined, complete: () => undefined },
    );
    try {
      await sleep(300);
      const registered = await register(vendor.apiKey, {
        name: 'My Signal Model',
        description: 'momentum',
        deploymentId: deployment.id,
        tags: ['Momentum', 'equities'],
      });
      assert.equal(registered.errors, undefined, JSON.stringify(registered.errors));
      const model = registered.data!.registerModel;
      assert.equal(model.slug, `${vendor.handle}/my-signal-model`);
      assert.deepEqual([model.status, model.liveStatus, model.liveSince], ['PUBLISHED', 'OFFLINE', null]);
      assert.deepEqual(model.tags, ['momentum', 'equities']);
      assert.equal(model.deployment?.id, deployment.id, 'its vendor sees the deployment');

      const publicView = await server.graphql<{ catalogModel: Listing }>(LISTING, { slug: model.slug });
      assert.equal(publicView.data!.catalogModel.vendor.handle, vendor.handle);
      assert.equal(publicView.data!.catalogModel.deployment, null, 'nobody else does');

      await server.graphql(TestSendHeartbeatDocument, { input: { status: 'READY' } }, deployment.token);
      // The public answer may be cached for up to 5 s, but a deployment change clears it.
      const live = await server.graphql<{ catalogModel: Listing }>(LISTING, { slug: model.slug });
      assert.equal(live.data!.catalogModel.liveStatus, 'LIVE');
      assert.ok(live.data!.catalogModel.liveSince, 'with the time it went LIVE');

      for (let waited = 0; waited < 5000 && !updates.some((update) => update.liveStatus === 'LIVE'); waited += 50) await sleep(50);
      assert.deepEqual(
        updates.map((update) => `${update.slug} ${update.status} ${update.liveStatus}`),
        [`${model.slug} PUBLISHED OFFLINE`, `${model.slug} PUBLISHED LIVE`],
      );

      const signal = { symbol: 'SPX', asOf: new Date().toISOString(), horizonDays: 5, score: 0.6, confidence: 0.5 };
      const round = await server.graphql<{ currentRound: { splits: { kind: string; firstDate: string }[] } }>('{ currentRound { splits { kind firstDate } } }');
      signal.asOf = `${round.data!.currentRound.splits.find((split) => split.kind === 'LIVE')!.firstDate}T21:00:00.000Z`;
      await server.graphql('mutation ($signals: [SignalWrite!]!) { writeSignals(signals: $signals) { written } }', { signals: [signal] }, deployment.token);
      const read = await server.graphql<{ signals: { nodes: { modelId: string }[] } }>(
        'query ($d: ID) { signals(filter: { deployment: $d }) { nodes { modelId } } }',
        { d: deployment.id },
        vendor.apiKey,
      );
      assert.deepEqual(read.data!.signals.nodes, [{ modelId: model.id }], 'signals written since carry the model');

      await server.graphql(TestStopDeploymentDocument, { id: deployment.id }, vendor.apiKey);
      const offline = await server.graphql<{ catalogModel: Listing }>(LISTING, { slug: model.slug });
      assert.equal(offline.data!.catalogModel.liveStatus, 'OFFLINE');
    } finally {
      unsubscribe();
      await client.dispose();
    }
  });

  it("updates a model registered under the same name, and refuses what is not the vendor's or not valid", async function () {
    const vendor = await server.createVendor();
    const first = await deploy(vendor.apiKey);
    const second = await deploy(vendor.apiKey);
    const a = (await register(vendor.apiKey, { name: 'Twice', deploymentId: first.id })).data!.registerModel;
    const b = (await register(vendor.apiKey, { name: 'Twice', deploymentId: second.id, tags: ['v2'] })).data!.registerModel;
    assert.equal(b.id, a.id, 'the same model');
    assert.deepEqual([b.deployment?.id, b.tags], [second.id, ['v2']]);

    const stranger = await server.createVendor();
    const notYours = await register(stranger.apiKey, { name: 'Stolen', deploymentId: first.id });
    assert.equal(notYours.errors?.[0].extensions?.code, 'NOT_FOUND');
    const badTags = await register(vendor.apiKey, { name: 'Tagged', deploymentId: first.id, tags: ['no spaces allowed'] });
    assert.equal(badTags.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
    assert.match(badTags.errors![0].message, /tags: at most 10, each 1 to 32 lowercase letters, digits or -/);
    const anonymous = await server.graphql(REGISTER, { input: { name: 'Nobody', deploymentId: first.id } });
    assert.equal(anonymous.errors?.[0].extensions?.code, 'UNAUTHENTICATED');
  });

  it('registers and unregisters from the CLI: the model leaves the catalog and comes back', async function () {
    const vendor = await server.createVendor();
    const deployment = await deploy(vendor.apiKey);
    const mp = (args: string[]): Promise<CliResult> =>
      runMp(args, { env: { XDG_CONFIG_HOME: home, MP_API_KEY: vendor.apiKey, MP_API_URL: server.graphqlUrl }, timeoutMs: 60_000 });
    const registered = await mp(['register', '--name', 'CLI Model', '--deployment', deployment.id, '--tags', 'cli,test', '--json']);
    assert.equal(registered.code, 0, registered.stderr);
    const model = JSON.parse(registered.stdout) as Listing;
    assert.equal(model.slug, `${vendor.handle}/cli-model`);
    const text = await mp(['register', '--name', 'CLI Model', '--deployment', deployment.id]);
    assert.match(text.stderr + text.stdout, new RegExp(`Registered ${model.slug}: in the catalog, OFFLINE until its deployment is HEALTHY`));

    const hidden = await mp(['unregister', model.slug]);
    assert.equal(hidden.code, 0, hidden.stderr);
    const gone = await server.graphql(LISTING, { slug: model.slug });
    assert.equal(gone.errors?.[0].extensions?.code, 'NOT_FOUND');
    const missing = await mp(['unregister', `${vendor.handle}/no-such-model`]);
    assert.equal(missing.code, 4, missing.stderr);
    assert.match(missing.stderr, /no model .*no-such-model among yours/);

    assert.equal((await mp(['register', '--name', 'CLI Model', '--deployment', deployment.id])).code, 0);
    assert.equal((await server.graphql<{ catalogModel: Listing }>(LISTING, { slug: model.slug })).data!.catalogModel.status, 'PUBLISHED');
  });
});
