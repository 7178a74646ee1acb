import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeQuietServingTemplate } from '../helpers/serving-template';
import { startTestServer, usingPostgres, type TestServer } from '../helpers/server';
import { random } from '../helpers/random';
import { syntheticPrices } from '../helpers/synthetic-prices';
import { numeraiCorr } from '../../server/modules/signals/scoring';
import { runMp } from '../helpers/cli-process';
import {
  TestCreateDeploymentDocument,
  TestDeploymentDocument,
  TestLeaderboardDocument,
  TestModelPerformanceDocument,
  TestRoundScoringDocument,
  TestScoreRoundDocument,
  TestSendHeartbeatDocument,
} from '../../generated/test-operations';

const SYMBOLS = Array.from({ length: 25 }, (_, i) => `S${String(i).padStart(2, '0')}`);
const HORIZON = 5;
const BUILT_DAYS = 180;
const LIVE_DAYS = 20;

describe(`scoring a resolved round (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  this.timeout(120_000);
  let server: TestServer;
  let templates: string;
  let round: number;
  const { prices, dates } = syntheticPrices(SYMBOLS, BUILT_DAYS + HORIZON + 5);
  const liveDates = dates.slice(BUILT_DAYS - LIVE_DAYS, BUILT_DAYS);
  const closeOf = new Map(prices.map((row) => [`${row.symbol} ${row.date}`, row.close]));
  /** The realized forward return over the horizon: what a perfect model would predict. */
  const forward = (symbol: string, date: string): number => {
    const at = dates.indexOf(date);
    return closeOf.get(`${symbol} ${dates[at + HORIZON]}`)! / closeOf.get(`${symbol} ${date}`)! - 1;
  };

  before(async function () {
    templates = mkdtempSync(path.join(tmpdir(), 'mp-scoring-templates-'));
    writeQuietServingTemplate(templates);
    server = await startTestServer({ MP_TEMPLATES_DIR: templates });
    const built = await server.app.services.datasets.createRound({
      prices: prices.filter((row) => row.date <= dates[BUILT_DAYS - 1]),
      horizonDays: HORIZON,
      liveDays: LIVE_DAYS,
      name: 'Synthetic 25 symbols',
      open: true,
      by: 'test',
    });
    round = built.number;
  });

  after(async function () {
    await server?.close();
    rmSync(templates, { recursive: true, force: true });
  });

  /** A vendor's registered model writing one signal per live (symbol, date): `predict` gives its score. */
  /**
   * A vendor's registered model with one signal per live (symbol, date), `predict` giving its score:
   * written by a deployment, or (`upload`) uploaded by the vendor for a model without one.
   */
  async function modelWriting(name: string, predict: (symbol: string, date: string) => number, upload = false) {
    const vendor = await server.createVendor();
    let deploymentId: string | undefined;
    let token = vendor.apiKey;
    if (!upload) {
      const created = await server.graphql(TestCreateDeploymentDocument, { input: { name } }, vendor.apiKey);
      deploymentId = created.data!.createDeployment.deployment.id;
      token = created.data!.createDeployment.token!;
      for (let attempt = 0; attempt < 200; attempt += 1) {
        if ((await server.graphql(TestDeploymentDocument, { id: deploymentId }, vendor.apiKey)).data?.deployment.status === 'STARTING') break;
        await sleep(50);
      }
    }
    const registered = await server.graphql<{ registerModel: { slug: string } }>(
      'mutation ($input: RegisterModelInput!) { registerModel(input: $input) { slug } }',
      { input: { name, deploymentId } },
      vendor.apiKey,
    );
    assert.equal(registered.errors, undefined, JSON.stringify(registered.errors));
    const slug = registered.data!.registerModel.slug;
    const signals = liveDates.flatMap((date) =>
      SYMBOLS.map((symbol) => ({ symbol, asOf: `${date}T21:00:00.000Z`, horizonDays: HORIZON, score: predict(symbol, date), confidence: 0.5 })),
    );
    type Answer = { written: number; round: number; rejected: { message: string }[] };
    const response = upload
      ? await server.graphql<{ pushSignals: Answer }>(
          'mutation ($model: String!, $signals: [SignalWrite!]!) { pushSignals(model: $model, signals: $signals) { written round rejected { message } } }',
          { model: slug, signals },
          token,
        )
      : await server.graphql<{ writeSignals: Answer }>(
          'mutation ($signals: [SignalWrite!]!) { writeSignals(signals: $signals) { written round rejected { message } } }',
          { signals },
          token,
        );
    const answer = response.data && ('pushSignals' in response.data ? response.data.pushSignals : response.data.writeSignals);
    assert.equal(answer?.written, signals.length, JSON.stringify(response.errors ?? answer?.rejected.slice(0, 3)));
    assert.equal(answer?.round, round);
    return { ...vendor, slug, token };
  }

  async function scoringDone(): Promise<void> {
    for (let attempt = 0; attempt < 300; attempt += 1) {
      const status = (await server.graphql(TestRoundScoringDocument, { round }, server.adminKey)).data?.roundScoring;
      if (status?.status === 'DONE') return;
      assert.notEqual(status?.status, 'FAILED', status?.error ?? '');
      await sleep(100);
    }
    assert.fail('the round was not scored within 30 s');
  }

  let scored: { oracle: { slug: string; token: string }; contrarian: { slug: string; token: string } };

  it('scores every model when the round resolves (uploads too): ranks, per-date numerai_corr, MMC and FNC, and the consensus', async function () {
    const noise = random(11);
    // Scores in (0, 1): a squashed forward return is a near-perfect model, its negation the worst one.
    const squash = (value: number): number => 1 / (1 + Math.exp(-value * 50));
    const oracle = await modelWriting('Oracle', (symbol, date) => squash(forward(symbol, date)));
    const coin = await modelWriting('Coin', () => 0.05 + 0.9 * noise(), true);
    const contrarian = await modelWriting('Contrarian', (symbol, date) => squash(-forward(symbol, date)));
    scored = { oracle, contrarian };

    const early = await server.graphql(TestLeaderboardDocument, { round });
    assert.equal(early.errors?.[0].extensions?.code, 'PRECONDITION_FAILED', 'an OPEN round has no leaderboard yet');
    const notYet = await server.graphql(TestScoreRoundDocument, { round }, server.adminKey);
    assert.equal(notYet.errors?.[0].extensions?.code, 'PRECONDITION_FAILED');
    assert.match(notYet.errors![0].message, /only a RESOLVED round has scores/);

    await server.app.services.datasets.changeStatusAs(round, 'CLOSED', 'test');
    await server.app.services.datasets.resolveRound(round, prices, 'test');
    await scoringDone();

    const board = await server.graphql(TestLeaderboardDocument, { round });
    assert.equal(board.errors, undefined, JSON.stringify(board.errors));
    const leaderboard = board.data!.leaderboard!;
    assert.equal(leaderboard.method, 'CROSS_SECTIONAL');
    assert.equal(leaderboard.totalCount, 3);
    assert.deepEqual(
      leaderboard.nodes.map((entry) => [entry.rank, entry.model.slug, entry.vendor.handle]),
      [
        [1, oracle.slug, oracle.handle],
        [2, coin.slug, coin.handle],
        [3, contrarian.slug, contrarian.handle],
      ],
    );
    const [best, , worst] = leaderboard.nodes;
    assert.ok(best.scores.corr.mean! > 0.5, `the oracle's mean numerai_corr is ${best.scores.corr.mean}`);
    assert.ok(worst.scores.corr.mean! < -0.5);
    assert.equal(best.scores.scored, LIVE_DAYS);
    assert.deepEqual(
      best.scores.dates.map((entry) => entry.date),
      liveDates,
    );
    assert.equal(best.scores.corr.hitRate, 1);
    assert.ok(best.scores.mmc && best.scores.fnc && Number.isFinite(best.scores.mmc.mean) && Number.isFinite(best.scores.fnc.mean));
    assert.equal(leaderboard.consensus?.rank, null, 'the consensus is shown, not ranked');
    assert.equal(leaderboard.consensus?.scored, LIVE_DAYS);
    assert.ok(Math.abs(leaderboard.consensus!.mmc!.mean!) < 1e-12, "the consensus's MMC against itself is 0");

    // The stored per-date score is numerai_corr of what the model wrote against the resolution's target.
    const firstDate = liveDates[0];
    const resolution = (await server.app.services.datasets.readFile(round, 'RESOLUTION'))!;
    const targets = resolution.rows.filter((row) => row[1] === firstDate).sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const expected = numeraiCorr(
      targets.map((row) => squash(forward(row[0], firstDate))),
      targets.map((row) => Number(row[2])),
    );
    assert.ok(Math.abs(best.scores.dates[0].numeraiCorr! - expected) < 1e-12, `${best.scores.dates[0].numeraiCorr} vs ${expected}`);

    const bySharpe = await server.graphql(TestLeaderboardDocument, { round, sort: 'MMC', first: 1 });
    assert.equal(bySharpe.data!.leaderboard!.nodes.length, 1);
    assert.equal(bySharpe.data!.leaderboard!.pageInfo.hasNextPage, true);
    const second = await server.graphql(TestLeaderboardDocument, { round, sort: 'MMC', first: 2, after: bySharpe.data!.leaderboard!.pageInfo.endCursor });
    assert.deepEqual(
      second.data!.leaderboard!.nodes.map((entry) => entry.rank),
      [2, 3],
    );

    const performance = await server.graphql(TestModelPerformanceDocument, { slug: oracle.slug });
    assert.equal(performance.errors, undefined, JSON.stringify(performance.errors));
    assert.equal(performance.data!.modelPerformance.rounds[0].round, round);
    assert.equal(performance.data!.modelPerformance.model.latestScores?.rank, 1);
    assert.equal(performance.data!.modelPerformance.model.latestScores?.corr.mean, best.scores.corr.mean);
  });

  it('scores again to the same rows, and only for an operator', async function () {
    const before = (await server.graphql(TestLeaderboardDocument, { round })).data!.leaderboard!;
    const refused = await server.graphql(TestScoreRoundDocument, { round }, (await server.createVendor()).apiKey);
    assert.equal(refused.errors?.[0].extensions?.code, 'FORBIDDEN');
    const queued = await server.graphql(TestScoreRoundDocument, { round }, server.adminKey);
    assert.equal(queued.data?.scoreRound.status, 'QUEUED', JSON.stringify(queued.errors));
    await scoringDone();
    const after = (await server.graphql(TestLeaderboardDocument, { round })).data!.leaderboard!;
    assert.deepEqual(after, before);
    const unknown = await server.graphql(TestScoreRoundDocument, { round: 999 }, server.adminKey);
    assert.equal(unknown.errors?.[0].extensions?.code, 'NOT_FOUND');
  });

  it("shows the leaderboard and a model's scores in the CLI", async function () {
    const board = (await server.graphql(TestLeaderboardDocument, { round })).data!.leaderboard!;
    const mp = (args: string[]) => runMp(args, { env: { XDG_CONFIG_HOME: templates, MP_API_URL: server.graphqlUrl }, timeoutMs: 60_000 });
    const text = await mp(['leaderboard', '--round', String(round)]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`Round ${round} leaderboard`));
    const lines = text.stdout.split('\n').filter((line) => /^\d+ /.test(line));
    assert.deepEqual(
      lines.map((line) => line.split(/\s+/).slice(0, 3)),
      board.nodes.map((entry) => [String(entry.rank), entry.model.slug, `+${entry.scores.corr.mean!.toFixed(4)}`.replace('+-', '-')]),
    );
    const json = await mp(['leaderboard', '--round', String(round), '--sort', 'mmc', '--limit', '2', '--json']);
    assert.equal(json.code, 0, json.stderr);
    assert.equal((JSON.parse(json.stdout) as { nodes: unknown[] }).nodes.length, 2);
    const shown = await mp(['models', 'show', board.nodes[0].model.slug]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`Round ${round}: +corr \\+${board.nodes[0].scores.corr.mean!.toFixed(4)} .*rank 1 of 3`));
    const badSort = await mp(['leaderboard', '--sort', 'best']);
    assert.equal(badSort.code, 2);
    assert.match(badSort.stderr, /Invalid values:[\s\S]*sort/);
  });

  it("weighs the consensus by the models' records, shrunk toward equal weights", async function () {
    const round1 = (await server.graphql<{ round: { splits: { kind: string; lastDate: string }[] } }>('{ round(number: 1) { splits { kind lastDate } } }'))
      .data!.round;
    const asOf = `${round1.splits.find((split) => split.kind === 'LIVE')!.lastDate}T21:00:00.000Z`;
    for (const [model, score] of [
      [scored.oracle, 0.9],
      [scored.contrarian, 0.1],
    ] as const) {
      await server.graphql(TestSendHeartbeatDocument, { input: { status: 'READY' } }, model.token);
      const written = await server.graphql<{ writeSignals: { written: number } }>(
        'mutation ($signals: [SignalWrite!]!) { writeSignals(signals: $signals) { written } }',
        { signals: [{ symbol: 'SPX', asOf, horizonDays: HORIZON, score, confidence: 0.5 }] },
        model.token,
      );
      assert.equal(written.data?.writeSignals.written, 1, JSON.stringify(written.errors));
    }
    const answer = await server.graphql<{ consensus: { score: number; method: string; contributors: { model: { slug: string }; weight: number }[] } }>(
      'query ($asOf: DateTime) { consensus(symbol: "SPX", asOf: $asOf) { score method contributors { model { slug } weight } } }',
      { asOf },
      server.adminKey,
    );
    assert.equal(answer.errors, undefined, JSON.stringify(answer.errors));
    const consensus = answer.data!.consensus;
    // The oracle's record is positive and the contrarian's negative (it gets only the equal part); 20 scored dates: α = 20 / (20 + 60).
    const alpha = LIVE_DAYS / (LIVE_DAYS + 60);
    const weights = new Map(consensus.contributors.map((c) => [c.model.slug, c.weight]));
    assert.ok(Math.abs(weights.get(scored.oracle.slug)! - ((1 - alpha) / 2 + alpha)) < 1e-12, JSON.stringify([...weights]));
    assert.ok(Math.abs(weights.get(scored.contrarian.slug)! - (1 - alpha) / 2) < 1e-12);
    assert.ok(Math.abs(consensus.score - (0.9 * weights.get(scored.oracle.slug)! + 0.1 * weights.get(scored.contrarian.slug)!)) < 1e-12);
    assert.match(consensus.method, /^score-weighted: .*α = 0\.250 after 20 scored dates/);
  });
});
