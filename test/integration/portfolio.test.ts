import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeQuietServingTemplate } from '../helpers/serving-template';
import { startTestServer, usingPostgres, type TestServer } from '../helpers/server';
import { random, syntheticPrices } from '../helpers/synthetic-prices';
import { runMp } from '../helpers/cli-process';
import { optimizePortfolio } from '../../server/modules/signals/optimizer';
import { TestCreateDeploymentDocument, TestDeploymentDocument, TestSendHeartbeatDocument } from '../../generated/test-operations';

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
    writeQuietServingTemplate(templates);
    server = await startTestServer({ MP_TEMPLATES_DIR: templates });
    round = (await server.app.services.datasets.createRound({ prices, horizonDays: 5, name: 'Portfolio universe', open: true, by: 'test' })).number;
    asOf = `${dates[dates.length - 1]}T21:00:00.000Z`;
    const noise = random(5);
    for (const name of ['Left', 'Right']) {
      const vendor = await server.createVendor();
      const created = await server.graphql(TestCreateDeploymentDocument, { input: { name } }, vendor.apiKey);
      const id = created.data!.createDeployment.deployment.id;
      const token = created.data!.createDeployment.token!;
      for (let attempt = 0; attempt < 200; attempt += 1) {
        if ((await server.graphql(TestDeploymentDocument, { id }, vendor.apiKey)).data?.deployment.status === 'STARTING') break;
        await sleep(50);
      }
      await server.graphql(
        'mutation ($input: RegisterModelInput!) { registerModel(input: $input) { slug } }',
        { input: { name, deploymentId: id } },
        vendor.apiKey,
      );
      await server.graphql(TestSendHeartbeatDocument, { input: { status: 'READY' } }, token);
      const signals = SYMBOLS.map((symbol) => ({ symbol, asOf, horizonDays: 5, score: 0.05 + 0.9 * noise(), confidence: 0.8 }));
      const written = await server.graphql<{ writeSignals: { written: number } }>(
        'mutation ($signals: [SignalWrite!]!) { writeSignals(signals: $signals) { written } }',
        { signals },
        token,
      );
      assert.equal(written.data?.writeSignals.written, SYMBOLS.length, JSON.stringify(written.errors));
    }
  });

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
});
