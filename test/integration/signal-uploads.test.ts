import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTestServer, usingPostgres, type TestServer } from '../helpers/server';
import { runMp } from '../helpers/cli-process';
import { syntheticPrices } from '../helpers/synthetic-prices';

interface PushAnswer {
  round: number;
  written: number;
  revised: number;
  unchanged: number;
  rejected: { index: number; symbol: string | null; reason: string; message: string }[];
}

const PUSH = `mutation ($model: String!, $signals: [SignalWrite!]!) {
  pushSignals(model: $model, signals: $signals) { round written revised unchanged rejected { index symbol reason message } }
}`;

describe(`mp signals push: uploading predictions made elsewhere (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  this.timeout(120_000);
  let server: TestServer;
  let home: string;
  let liveFrom: string;
  let liveTo: string;
  let vendor: { handle: string; apiKey: string };
  let slug: string;
  const mp = (args: string[], apiKey = vendor.apiKey) =>
    runMp(args, { env: { XDG_CONFIG_HOME: home, MP_API_KEY: apiKey, MP_API_URL: server.graphqlUrl }, cwd: home, timeoutMs: 60_000 });

  before(async function () {
    home = mkdtempSync(path.join(tmpdir(), 'mp-uploads-'));
    server = await startTestServer();
    const round = await server.graphql<{ currentRound: { splits: { kind: string; firstDate: string; lastDate: string }[] } }>(
      '{ currentRound { splits { kind firstDate lastDate } } }',
    );
    const live = round.data!.currentRound.splits.find((split) => split.kind === 'LIVE')!;
    [liveFrom, liveTo] = [live.firstDate, live.lastDate];
    vendor = await server.createVendor();
  });

  after(async function () {
    await server?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('registers a model without a deployment and uploads a CSV to it, once', async function () {
    const registered = await mp(['register', '--name', 'Offline Ridge', '--json']);
    assert.equal(registered.code, 0, registered.stderr);
    slug = (JSON.parse(registered.stdout) as { slug: string; liveStatus: string; deployment: unknown }).slug;
    assert.equal(slug, `${vendor.handle}/offline-ridge`);

    writeFileSync(path.join(home, 'predictions.csv'), `symbol,date,signal\nSPX,${liveFrom},0.61\nSPX,${liveTo},0.42\n`);
    const pushed = await mp(['signals', 'push', 'predictions.csv', '--model', slug]);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.match(pushed.stdout, new RegExp(`Pushed 2 predictions for ${slug} to round 1: 2 new, 0 revised, 0 unchanged`));
    const again = await mp(['signals', 'push', 'predictions.csv', '--model', slug, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual((JSON.parse(again.stdout) as PushAnswer & { predictions: number }).unchanged, 2, 'the same file again writes nothing twice');

    const listed = await server.graphql<{
      signals: { nodes: { source: string; deploymentId: string | null; modelId: string; score: number; horizonDays: number }[] };
    }>('{ signals(filter: { symbol: "SPX" }) { nodes { source deploymentId modelId score horizonDays } } }', {}, vendor.apiKey);
    assert.deepEqual(
      listed.data!.signals.nodes.map((s) => [s.source, s.deploymentId, s.score, s.horizonDays]),
      [
        ['UPLOAD', null, 0.42, 5],
        ['UPLOAD', null, 0.61, 5],
      ],
    );
    const text = await mp(['signals', 'list', '--symbol', 'SPX']);
    assert.match(text.stdout, /upload/);
  });

  it('says what is wrong with a file, and stores none of a refused row', async function () {
    writeFileSync(path.join(home, 'no-score.csv'), `symbol,date\nSPX,${liveFrom}\n`);
    const missing = await mp(['signals', 'push', 'no-score.csv', '--model', slug]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /no-score\.csv has no score column \(score or signal or prediction\); it has symbol, date/);

    writeFileSync(path.join(home, 'bad.json'), JSON.stringify([{ symbol: 'SPX', asOf: liveFrom, score: 1.5 }]));
    const invalid = await mp(['signals', 'push', 'bad.json', '--model', slug]);
    assert.equal(invalid.code, 5, invalid.stderr);
    assert.match(invalid.stdout, /invalid .*score/);
    assert.match(invalid.stderr, /1 of 1 predictions were refused/);

    const notJson = await mp(['signals', 'push', path.join(home, 'nothing.json'), '--model', slug]);
    assert.equal(notJson.code, 2);
    assert.match(notJson.stderr, /no such file/);
  });

  it("takes uploads only for the vendor's own models and with its API key", async function () {
    const other = await server.createVendor();
    const signals = [{ symbol: 'SPX', asOf: `${liveFrom}T21:00:00Z`, horizonDays: 5, score: 0.5, confidence: 0.5 }];
    const foreign = await server.graphql<{ pushSignals: PushAnswer }>(PUSH, { model: slug, signals }, other.apiKey);
    assert.equal(foreign.errors?.[0].extensions?.code, 'NOT_FOUND');
    const anonymous = await server.graphql<{ pushSignals: PushAnswer }>(PUSH, { model: slug, signals });
    assert.equal(anonymous.errors?.[0].extensions?.code, 'UNAUTHENTICATED');
    const admin = await server.graphql<{ pushSignals: PushAnswer }>(PUSH, { model: slug, signals }, server.adminKey);
    assert.equal(admin.errors?.[0].extensions?.code, 'FORBIDDEN');
  });

  it('refuses a date that covers fewer symbols than the round needs, storing nothing of the batch', async function () {
    const symbols = Array.from({ length: 30 }, (_, i) => `U${String(i).padStart(2, '0')}`);
    const { prices, dates } = syntheticPrices(symbols, 150);
    const round = await server.app.services.datasets.createRound({ prices, horizonDays: 5, name: 'Thirty symbols', open: true, by: 'test' });
    const date = dates[dates.length - 1];
    const full = symbols.map((symbol) => ({ symbol, asOf: `${date}T21:00:00Z`, horizonDays: 5, score: 0.5, confidence: 0.5 }));
    const short = [dates[dates.length - 2]].flatMap((day) => symbols.slice(0, 3).map((symbol) => ({ ...full[0], symbol, asOf: `${day}T21:00:00Z` })));
    const refused = await server.graphql<{ pushSignals: PushAnswer }>(PUSH, { model: slug, signals: [...full, ...short] }, vendor.apiKey);
    assert.equal(refused.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
    assert.match(
      refused.errors![0].message,
      new RegExp(`at least 30 of round ${round.number}'s 30 symbols on each date, but ${dates[dates.length - 2]} has 3; nothing was stored`),
    );
    const stored = await server.graphql<{ signals: { nodes: unknown[] } }>('{ signals(filter: { symbol: "U00" }) { nodes { symbol } } }', {}, vendor.apiKey);
    assert.deepEqual(stored.data!.signals.nodes, []);
    const accepted = await server.graphql<{ pushSignals: PushAnswer }>(PUSH, { model: slug, signals: full }, vendor.apiKey);
    assert.equal(accepted.data?.pushSignals.written, 30, JSON.stringify(accepted.errors));
    assert.equal(accepted.data?.pushSignals.round, round.number);
  });
});
