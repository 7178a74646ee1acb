import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestServer, usingPostgres, type TestServer } from '../helpers/server';
import { random } from '../helpers/random';
import { syntheticPrices } from '../helpers/synthetic-prices';
import { runMp } from '../helpers/cli-process';
import { optimizePortfolio } from '../../server/modules/signals/optimizer';
import { TestCreateDeploymentDocument, TestDeploymentDocument, TestSendHeartbeatDocument } from '../../generated/test-operations';

/**
 * A serving template for MP_TEMPLATES_DIR (the built-in one's name) whose endpoint also combines:
 * POST /v1/consensus answers the highest score it is sent (but a score of 7, outside the
 * contract, for P01), POST /v1/optimize equal weights; anything else is a READY /health. It sends
 * no heartbeats: the test sends them with each deployment's token.
 */
function writeCombinerTemplate(root: string): void {
  const dir = path.join(root, 'runpod-signal-http');
  mkdirSync(path.join(dir, 'src'), { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'combiner', mp: { entry: 'src/server.ts' } }));
  writeFileSync(
    path.join(dir, 'src', 'server.ts'),
    `import { createServer } from 'node:http';
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    const json = (value: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    if (req.url === '/v1/consensus') {
      const request = JSON.parse(body) as { symbol: string; signals: { score: number }[] };
      const score = request.symbol === 'P01' ? 7 : Math.max(...request.signals.map((s) => s.score));
      return json({ score, confidence: 0.9, contributors: request.signals.length, modelVersion: 'max-v1', latencyMs: 0.1 });
    }
    if (req.url === '/v1/optimize') {
      const request = JSON.parse(body) as { signals: { symbol: string }[] };
      return json({ weights: request.signals.map((s) => ({ symbol: s.symbol, weight: 1 / request.signals.length })), modelVersion: 'equal-v1', latencyMs: 0.1 });
    }
    json({ status: 'READY' });
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`,
  );
}

const SYMBOLS = Array.from({ length: 25 }, (_, i) => `P${String(i).padStart(2, '0')}`);

interface PortfolioAnswer {
  weights: { symbol: string; weight: number }[];
  expectedReturn: number;
  risk: number;
  inputs: {
    round: number;
    historyFrom: string;
    historyTo: string;
    returns: number;
    constraints: { longOnly: boolean; maxWeight: number };
    symbols: { symbol: string; score: number; confidence: number; models: number }[];
  };
}

const OPTIMIZE = `query ($symbols: [String!]!, $asOf: DateTime, $riskAversion: Float!, $constraints: PortfolioConstraintsInput) {
  optimizePortfolio(symbols: $symbols, asOf: $asOf, riskAversion: $riskAversion, constraints: $constraints) {
    weights { symbol weight } expectedReturn risk
    inputs { round historyFrom historyTo returns constraints { longOnly maxWeight } symbols { symbol score confidence models } }
  }
}`;

describe(`optimizePortfolio: weights from the consensus (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  this.timeout(120_000);
  let server: TestServer;
  let templates: string;
  let asOf: string;
  let round: number;
  const { prices, dates } = syntheticPrices(SYMBOLS, 160, 3);

  before(async function () {
    templates = mkdtempSync(path.join(tmpdir(), 'mp-portfolio-templates-'));
    writeCombinerTemplate(templates);
    server = await startTestServer({ MP_TEMPLATES_DIR: templates });
    round = (await server.app.services.datasets.createRound({ prices, horizonDays: 5, name: 'Portfolio universe', open: true, by: 'test' })).number;
    asOf = `${dates[dates.length - 1]}T21:00:00.000Z`;
    const noise = random(5);
    for (const name of ['Left', 'Right']) {
      const token = await liveModel(name, 'SIGNAL');
      const signals = SYMBOLS.map((symbol) => ({ symbol, asOf, horizonDays: 5, score: 0.05 + 0.9 * noise(), confidence: 0.8 }));
      const written = await server.graphql<{ writeSignals: { written: number } }>(
        'mutation ($signals: [SignalWrite!]!) { writeSignals(signals: $signals) { written } }',
        { signals },
        token,
      );
      assert.equal(written.data?.writeSignals.written, SYMBOLS.length, JSON.stringify(written.errors));
    }
  });

  /** A vendor's registered model of `task`, its deployment RUNNING and HEALTHY; returns the deployment's token. */
  async function liveModel(name: string, task: 'SIGNAL' | 'CONSENSUS' | 'OPTIMIZER'): Promise<string> {
    const vendor = await server.createVendor();
    const created = await server.graphql(TestCreateDeploymentDocument, { input: { name } }, vendor.apiKey);
    const id = created.data!.createDeployment.deployment.id;
    const token = created.data!.createDeployment.token!;
    for (let attempt = 0; attempt < 200; attempt += 1) {
      const deployment = (await server.graphql(TestDeploymentDocument, { id }, vendor.apiKey)).data?.deployment;
      if (deployment?.status === 'STARTING' && deployment.endpointUrl) break;
      await sleep(50);
    }
    const registered = await server.graphql(
      'mutation ($input: RegisterModelInput!) { registerModel(input: $input) { slug } }',
      { input: { name, task, deploymentId: id } },
      vendor.apiKey,
    );
    assert.equal(registered.errors, undefined, JSON.stringify(registered.errors));
    await server.graphql(TestSendHeartbeatDocument, { input: { status: 'READY' } }, token);
    return token;
  }

  after(async function () {
    await server?.close();
    rmSync(templates, { recursive: true, force: true });
  });

  it("turns the symbols' consensus into long-only weights from the round's own price history", async function () {
    const response = await server.graphql<{ optimizePortfolio: PortfolioAnswer }>(
      OPTIMIZE,
      { symbols: SYMBOLS, asOf, riskAversion: 5, constraints: { maxWeight: 0.2 } },
      server.adminKey,
    );
    assert.equal(response.errors, undefined, JSON.stringify(response.errors));
    const portfolio = response.data!.optimizePortfolio;
    assert.equal(portfolio.inputs.round, round);
    assert.deepEqual(
      [portfolio.inputs.historyFrom, portfolio.inputs.historyTo, portfolio.inputs.returns],
      [dates[0], dates[dates.length - 1], dates.length - 1],
    );
    assert.ok(portfolio.inputs.symbols.every((symbol) => symbol.models === 2 && Math.abs(symbol.confidence - 0.8) < 1e-12));
    const total = portfolio.weights.reduce((sum, w) => sum + w.weight, 0);
    assert.ok(Math.abs(total - 1) < 1e-9, `long-only weights sum to 1, got ${total}`);
    assert.ok(portfolio.weights.every((w) => w.weight >= -1e-12 && w.weight <= 0.2 + 1e-12));

    // The same pipeline by hand: the consensus as the server reports it, the closes the round was built from.
    const closes = Object.fromEntries(SYMBOLS.map((symbol) => [symbol, prices.filter((row) => row.symbol === symbol).map((row) => row.close)]));
    const expected = optimizePortfolio({
      signals: portfolio.inputs.symbols.map(({ symbol, score, confidence }) => ({ symbol, score, confidence })),
      prices: { dates, closes },
      riskAversion: 5,
      constraints: { maxWeight: 0.2 },
    });
    expected.weights.forEach((w, i) =>
      assert.ok(Math.abs(w.weight - portfolio.weights[i].weight) < 1e-9, `${w.symbol}: ${w.weight} vs ${portfolio.weights[i].weight}`),
    );
    assert.ok(Math.abs(expected.risk - portfolio.risk) < 1e-12);
  });

  it('says which constraint no portfolio can meet, and what is wrong with the symbols', async function () {
    const infeasible = await server.graphql(OPTIMIZE, { symbols: SYMBOLS, asOf, riskAversion: 5, constraints: { maxWeight: 0.01 } }, server.adminKey);
    assert.equal(infeasible.errors?.[0].extensions?.code, 'PRECONDITION_FAILED');
    assert.match(infeasible.errors![0].message, /maxWeight/);
    const unknown = await server.graphql(OPTIMIZE, { symbols: ['P00', 'NOPE'], riskAversion: 5 }, server.adminKey);
    assert.equal(unknown.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
    assert.match(unknown.errors![0].message, new RegExp(`NOPE is not in round ${round}'s universe`));
    const twice = await server.graphql(OPTIMIZE, { symbols: ['P00', 'P00'], riskAversion: 5 }, server.adminKey);
    assert.match(twice.errors![0].message, /P00 appears more than once/);
    const badLambda = await server.graphql(OPTIMIZE, { symbols: ['P00', 'P01'], riskAversion: -1, constraints: { maxWeight: 1 } }, server.adminKey);
    assert.equal(badLambda.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
    const anonymous = await server.graphql(OPTIMIZE, { symbols: ['P00'], riskAversion: 5 });
    assert.equal(anonymous.errors?.[0].extensions?.code, 'UNAUTHENTICATED');
  });

  it('prints the weights and their inputs in the CLI', async function () {
    const mp = (args: string[]) =>
      runMp(args, { env: { XDG_CONFIG_HOME: templates, MP_API_KEY: server.adminKey, MP_API_URL: server.graphqlUrl }, timeoutMs: 60_000 });
    const symbols = SYMBOLS.slice(0, 5);
    const json = await mp(['optimize', ...symbols, '--max-weight', '0.5', '--as-of', asOf, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const portfolio = JSON.parse(json.stdout) as PortfolioAnswer;
    assert.deepEqual(
      portfolio.weights.map((w) => w.symbol),
      symbols,
    );
    assert.ok(Math.abs(portfolio.weights.reduce((sum, w) => sum + w.weight, 0) - 1) < 1e-9);
    const text = await mp(['optimize', symbols.join(','), '--max-weight', '0.5', '--as-of', asOf]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^SYMBOL\s+WEIGHT\s+CONSENSUS\s+MODELS/);
    assert.match(text.stdout, new RegExp(`History: +round ${round}, ${dates[0]} to ${dates[dates.length - 1]}`));
    const infeasible = await mp(['optimize', 'P00', 'P01', '--max-weight', '0.1']);
    assert.notEqual(infeasible.code, 0);
    assert.match(infeasible.stderr, /maxWeight/);
    const misuse = await mp(['optimize', 'P00', '--gross', '2']);
    assert.equal(misuse.code, 2);
    assert.match(misuse.stderr, /add --long-short/);
  });

  it('hands the consensus and the weights to a chosen CONSENSUS or OPTIMIZER model, for admins only', async function () {
    await liveModel('Max Combiner', 'CONSENSUS');
    await liveModel('Equal Optimizer', 'OPTIMIZER');
    const slugs = (await server.graphql<{ catalog: { nodes: { slug: string; task: string }[] } }>('{ catalog(first: 100) { nodes { slug task } } }')).data!
      .catalog.nodes;
    const combiner = slugs.find((m) => m.slug.endsWith('/max-combiner'))!.slug;
    const optimizer = slugs.find((m) => m.slug.endsWith('/equal-optimizer'))!.slug;
    const CONSENSUS = `query ($symbol: String!, $asOf: DateTime, $model: String) {
      consensus(symbol: $symbol, asOf: $asOf, model: $model) { score confidence method models contributors { score } }
    }`;
    type Answer = { consensus: { score: number; confidence: number | null; method: string; models: number; contributors: { score: number }[] } };
    const chosen = await server.graphql<Answer>(CONSENSUS, { symbol: 'P00', asOf, model: combiner }, server.adminKey);
    assert.equal(chosen.errors, undefined, JSON.stringify(chosen.errors));
    const answer = chosen.data!.consensus;
    assert.equal(answer.models, 2);
    assert.equal(answer.score, Math.max(...answer.contributors.map((c) => c.score)), 'the combiner answered the highest score it was sent');
    assert.deepEqual([answer.confidence, answer.method], [0.9, `${combiner} (model max-v1)`]);

    const outside = await server.graphql<Answer>(CONSENSUS, { symbol: 'P01', asOf, model: combiner }, server.adminKey);
    assert.equal(outside.errors?.[0].extensions?.code, 'PRECONDITION_FAILED');
    assert.match(outside.errors![0].message, new RegExp(`${combiner} answered POST /v1/consensus outside the contract: score`));
    const wrongTask = await server.graphql<Answer>(CONSENSUS, { symbol: 'P00', asOf, model: optimizer }, server.adminKey);
    assert.match(wrongTask.errors![0].message, /is a model of task OPTIMIZER; pick one of task CONSENSUS/);
    const vendor = await server.createVendor();
    const notAdmin = await server.graphql<Answer>(CONSENSUS, { symbol: 'P00', asOf, model: combiner }, vendor.apiKey);
    assert.equal(notAdmin.errors?.[0].extensions?.code, 'FORBIDDEN');

    const weighted = await server.graphql<{ optimizePortfolio: PortfolioAnswer & { method: string } }>(
      `query ($symbols: [String!]!, $asOf: DateTime, $model: String) {
        optimizePortfolio(symbols: $symbols, asOf: $asOf, riskAversion: 5, constraints: { maxWeight: 0.5 }, model: $model) { method weights { symbol weight } risk expectedReturn }
      }`,
      { symbols: ['P02', 'P03', 'P04', 'P05'], asOf, model: optimizer },
      server.adminKey,
    );
    assert.equal(weighted.errors, undefined, JSON.stringify(weighted.errors));
    const portfolio = weighted.data!.optimizePortfolio;
    assert.equal(portfolio.method, `${optimizer} (model equal-v1)`);
    assert.deepEqual(
      portfolio.weights.map((w) => w.weight),
      [0.25, 0.25, 0.25, 0.25],
    );
    assert.ok(portfolio.risk > 0 && Number.isFinite(portfolio.expectedReturn), 'its risk is measured with the built-in covariance');
  });
});
