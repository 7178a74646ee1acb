// The whole mission as a vendor and an operator live it, with the CLI against a real server: a
// round built from part of the S&P 500 history, a managed training run of the template, the
// serving template scaffolded, validated and deployed locally with the run's model, registered,
// linked, writing its signals, the round resolved with the later prices and scored, then the
// consensus, the weights and the leaderboard. The README's walkthrough follows the same steps.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestServer, usingPostgres, type TestServer } from '../helpers/server';
import { runMp, spawnMp, type CliResult, type MpProcess } from '../helpers/cli-process';
import { eventually } from '../helpers/processes';
import { parsePricesCsv } from '../../server/modules/datasets/round-builder';
import { sp500CsvPath } from '../../server/modules/datasets/sample-data';

const NODE_PATH = path.join(__dirname, '..', '..', 'node_modules');

function show(result: CliResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

describe(`live trading end to end with the CLI (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  this.timeout(300_000);
  let server: TestServer;
  let home: string;
  let dev: MpProcess | undefined;

  before(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-e2e-'));
    fs.chmodSync(home, 0o755);
    server = await startTestServer();
  });

  after(async () => {
    if (dev && dev.child.exitCode === null) {
      dev.child.kill('SIGINT');
      await dev.done;
    }
    await server?.close();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it('trains, deploys, registers, links, writes signals, resolves, and reads the consensus, the weights and the leaderboard', async () => {
    const config = path.join(home, '.config');
    const mp = (args: string[], cwd = home, env: NodeJS.ProcessEnv = {}) =>
      runMp(args, { cwd, configHome: config, env: { NODE_PATH, ...env }, timeoutMs: 120_000 });

    // The operator: a round from the S&P 500 history to 2019 (the newest OPEN round, so the current one), and a vendor.
    const prices = parsePricesCsv(await readFile(sp500CsvPath(), 'utf8'), { symbol: 'SPX' });
    const round = (
      await server.app.services.datasets.createRound({
        prices: prices.filter((row) => row.date <= '2019-06-28'),
        horizonDays: 5,
        name: 'S&P 500 to mid-2019',
        open: true,
        by: 'e2e operator',
      })
    ).number;
    const vendor = await server.createVendor('E2E Quant');

    // The vendor logs in (key on stdin) and pulls the round.
    const login = await runMp(['login', '--api-url', server.graphqlUrl], { cwd: home, configHome: config, stdin: `${vendor.apiKey}\n`, timeoutMs: 60_000 });
    assert.equal(login.code, 0, show(login));
    const whoami = await mp(['whoami', '--json']);
    assert.equal((JSON.parse(whoami.stdout) as { vendor: { handle: string } }).vendor.handle, vendor.handle, show(whoami));
    const pulled = await mp(['data', 'pull', '--round', String(round), '--dir', 'data']);
    assert.equal(pulled.code, 0, show(pulled));
    const live = fs
      .readFileSync(path.join(home, 'data', 'live.csv'), 'utf8')
      .trim()
      .split('\n');
    const columns = live[0].split(',');

    // A managed training run of the template on that round.
    const started = await mp(['train', 'start', '--task', 'signal', '--round', String(round), '--hp', 'epochs=5', '--provider', 'local', '--json']);
    assert.equal(started.code, 0, show(started));
    const runId = (JSON.parse(started.stdout) as { id: string }).id;
    const followed = await mp(['train', 'logs', runId, '-f']);
    assert.equal(followed.code, 0, show(followed));
    const status = JSON.parse((await mp(['train', 'status', runId, '--json'])).stdout) as { status: string };
    assert.equal(status.status, 'SUCCEEDED');

    // The serving template: scaffolded, served by mp dev and validated, then deployed with the run's model.
    const init = await mp(['init', '--template', 'runpod-signal-http', 'my-model']);
    assert.equal(init.code, 0, show(init));
    const project = path.join(home, 'my-model');
    dev = spawnMp(['dev', '--port', '0'], { cwd: project, configHome: config, env: { NODE_PATH } });
    let devOut = '';
    dev.child.stdout?.on('data', (chunk: string) => (devOut += chunk));
    assert.ok(await eventually(() => /Ready at (http:\/\/127\.0\.0\.1:\d+)/.test(devOut), 30_000), `mp dev never became ready:\n${devOut}`);
    const devUrl = /Ready at (http:\/\/127\.0\.0\.1:\d+)/.exec(devOut)![1];
    const validated = await mp(['validate', '--url', devUrl, '--requests', '40', '--concurrency', '4', '--no-color']);
    assert.equal(validated.code, 0, show(validated));
    dev.child.kill('SIGINT');
    await dev.done;

    const deployed = await mp(['deploy', '--provider', 'local', '--model', runId, '--heartbeat-seconds', '1', '--wait', '--json'], project);
    assert.equal(deployed.code, 0, show(deployed));
    const deployment = JSON.parse(deployed.stdout) as { id: string; status: string; health: string; endpointUrl: string };
    assert.deepEqual([deployment.status, deployment.health], ['RUNNING', 'HEALTHY']);

    // Registered in the catalog and linked to the marketplace's own signal store.
    const registered = await mp(['register', '--name', 'E2E Ridge', '--deployment', deployment.id, '--training-run', runId, '--json']);
    assert.equal(registered.code, 0, show(registered));
    const model = JSON.parse(registered.stdout) as { slug: string; liveStatus: string };
    assert.equal(model.liveStatus, 'LIVE');
    const linked = await mp(['link-infra', '--deployment', deployment.id]);
    assert.equal(linked.code, 0, show(linked));
    await sleep(2500); // the endpoint hears of the link with its next heartbeat receipt

    // The trading side asks the deployment for every live date; it writes each answer to the store.
    const requests = live.slice(1).map((line) => {
      const cells = line.split(',');
      return {
        symbol: cells[0],
        asOf: `${cells[1]}T21:00:00.000Z`,
        horizonDays: 5,
        features: columns.slice(2).map((name, i) => ({ name, value: Number(cells[i + 2]) })),
      };
    });
    const answered = await fetch(`${deployment.endpointUrl}/v1/signals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requests }),
    });
    assert.equal(answered.status, 200, await answered.clone().text());
    assert.ok(
      await eventually(async () => {
        const listed = await mp(['signals', 'list', '--deployment', deployment.id, '--limit', '100', '--json']);
        return (JSON.parse(listed.stdout) as unknown[]).length === requests.length;
      }, 30_000),
      'every answer reached the signal store',
    );

    const lastDate = requests[requests.length - 1].asOf;
    const consensus = await mp(['consensus', 'SPX', '--as-of', lastDate, '--json']);
    assert.equal(consensus.code, 0, show(consensus));
    const combined = JSON.parse(consensus.stdout) as { models: number; contributors: { model: { slug: string } }[] };
    assert.equal(combined.models, 1);
    assert.deepEqual(
      combined.contributors.map((c) => c.model.slug),
      [model.slug],
    );
    const weights = await mp(['optimize', 'SPX', '--max-weight', '1', '--as-of', lastDate, '--json']);
    assert.equal(weights.code, 0, show(weights));
    assert.deepEqual((JSON.parse(weights.stdout) as { weights: { symbol: string; weight: number }[] }).weights, [{ symbol: 'SPX', weight: 1 }]);

    // The operator closes the round and resolves it with the rest of the history; scoring follows.
    await server.app.services.datasets.changeStatusAs(round, 'CLOSED', 'e2e operator');
    await server.app.services.datasets.resolveRound(round, prices, 'e2e operator');
    let board: {
      round: number;
      method: string;
      nodes: { rank: number; model: { slug: string }; scores: { corr: { mean: number | null }; symbols: { dates: number }[] } }[];
    } | null = null;
    assert.ok(
      await eventually(async () => {
        const shown = await mp(['leaderboard', '--round', String(round), '--json']);
        board = shown.code === 0 ? (JSON.parse(shown.stdout) as typeof board) : null;
        return Boolean(board?.nodes.length);
      }, 30_000),
      'the round was scored',
    );
    const entry = board!.nodes.find((node) => node.model.slug === model.slug)!;
    assert.equal(board!.method, 'TIME_SERIES_CORR');
    assert.equal(entry.rank, 1);
    assert.ok(Number.isFinite(entry.scores.corr.mean), JSON.stringify(entry));
    assert.equal(entry.scores.symbols[0].dates, requests.length);
    const shownModel = await mp(['models', 'show', model.slug]);
    assert.match(
      shownModel.stdout,
      new RegExp(`Round ${round}: +ts_corr [+-]\\d\\.\\d{4}, 1 symbol over ${requests.length} dates, rank 1 of 1`),
      show(shownModel),
    );

    const stopped = await mp(['deploy', 'stop', deployment.id, '--json']);
    assert.equal(stopped.code, 0, show(stopped));
  });
});
