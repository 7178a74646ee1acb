import assert from 'node:assert/strict';
import { startTestServer, usingPostgres, type TestServer } from '../helpers/server';
import { TestLeaderboardDocument } from '../../generated/test-operations';

interface SignalPage {
  signals: { nodes: { asOf: string; score: number; source: string; round: number }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

function pearson(a: readonly number[], b: readonly number[]): number {
  const mean = (v: readonly number[]) => v.reduce((sum, x) => sum + x, 0) / v.length;
  const [ma, mb] = [mean(a), mean(b)];
  let [cov, va, vb] = [0, 0, 0];
  a.forEach((x, i) => {
    cov += (x - ma) * (b[i] - mb);
    va += (x - ma) ** 2;
    vb += (b[i] - mb) ** 2;
  });
  return cov / Math.sqrt(va * vb);
}

describe(`the demo round: real scores on a fresh start (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  this.timeout(90_000);
  let server: TestServer;

  before(async function () {
    server = await startTestServer();
  });

  after(async function () {
    await server?.close();
  });

  it('ranks the demo models on a resolved historical round, each score what its stored predictions earned', async function () {
    const board = (await server.graphql(TestLeaderboardDocument, {})).data!.leaderboard!;
    assert.equal(board.method, 'TIME_SERIES_CORR', 'one index: a time-series correlation, labelled as such');
    assert.match(board.label, /not numerai_corr/);
    assert.deepEqual(board.nodes.map((entry) => entry.model.slug).sort(), [
      'demo/mean-reversion-gbt',
      'demo/momentum-ridge',
      'demo/volatility-regime',
      'quant-collective/carry-trend',
    ]);
    const round = (
      await server.graphql<{ round: { status: string; splits: { kind: string; firstDate: string; lastDate: string }[] } }>(
        'query ($n: Int!) { round(number: $n) { status splits { kind firstDate lastDate } } }',
        { n: board.round },
      )
    ).data!.round;
    assert.equal(round.status, 'RESOLVED');
    assert.equal(round.splits.find((split) => split.kind === 'LIVE')!.lastDate, '2019-12-31');

    // Recompute the ridge model's figure from what the API shows: its stored predictions and the round's targets.
    const ridge = board.nodes.find((entry) => entry.model.slug === 'demo/momentum-ridge')!;
    const models = await server.graphql<{ catalogModel: { id: string } }>('{ catalogModel(slug: "demo/momentum-ridge") { id } }');
    const predictions: SignalPage['signals']['nodes'] = [];
    let after: string | null = null;
    do {
      const page: SignalPage = (
        await server.graphql<SignalPage>(
          'query ($model: ID, $after: String) { signals(filter: { model: $model }, first: 100, after: $after) { nodes { asOf score source round } pageInfo { hasNextPage endCursor } } }',
          { model: models.data!.catalogModel.id, after },
          server.adminKey,
        )
      ).data!;
      predictions.push(...page.signals.nodes);
      after = page.signals.pageInfo.hasNextPage ? page.signals.pageInfo.endCursor : null;
    } while (after);
    assert.equal(predictions.length, 120);
    assert.ok(predictions.every((signal) => signal.source === 'UPLOAD' && signal.round === board.round));
    const resolution = (await server.app.services.datasets.readFile(board.round, 'RESOLUTION'))!;
    const target = new Map(resolution.rows.map((row) => [row[1], Number(row[2])]));
    const byDate = predictions.map((signal) => [signal.score, target.get(signal.asOf.slice(0, 10))!] as const);
    const expected = pearson(
      byDate.map(([score]) => score),
      byDate.map(([, value]) => value),
    );
    assert.ok(Math.abs(ridge.scores.corr.mean! - expected) < 1e-9, `${ridge.scores.corr.mean} vs ${expected}`);
    assert.equal(ridge.scores.symbols[0].dates, 120);
  });
});
