import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTestServer, usingPostgres } from '../helpers/server';
import type { TestServer } from '../helpers/server';
import { runMp, spawnMp, type CliResult } from '../helpers/cli-process';
import type { TrainRunQuery, TrainingRunFieldsFragment } from '../../generated/cli-operations';

function assertNoStack(result: CliResult): void {
  assert.doesNotMatch(result.stderr, /\n\s+at /, `unexpected stack trace:\n${result.stderr}`);
}

function show(result: CliResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

/** What `mp train start --json` and `mp train status --json` print: the runs as the CLI's operations return them. */
type RunJson = TrainingRunFieldsFragment;
/** What `mp train status <id> --json` prints. */
type RunDetailJson = TrainRunQuery['trainingRun'];

/**
 * A template of our own (MP_TEMPLATES_DIR) that prints a line every 100 ms for `seconds`: a run
 * that is reliably still RUNNING when the test stops it or walks away from it.
 */
const SLOW_TEMPLATE = 'mp-cli-test-slow';
function writeSlowTemplate(root: string): void {
  const dir = path.join(root, SLOW_TEMPLATE);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({
      name: SLOW_TEMPLATE,
      private: true,
      main: 'train.js',
      mp: { task: 'SIGNAL', hyperparameters: { seconds: { type: 'integer', default: 60, min: 1, max: 600 } } },
    }),
  );
  fs.writeFileSync(
    path.join(dir, 'train.js'),
    [
      "const seconds = JSON.parse(process.env.MP_HPARAMS || '{}').seconds ?? 60;",
      'let tick = 0;',
      'const timer = setInterval(() => {',
      '  tick += 1;',
      '  console.log(`tick ${tick}`);',
      '  if (tick >= seconds * 10) clearInterval(timer);',
      '}, 100);',
      '',
    ].join('\n'),
  );
}

/** A TCP proxy to the server whose connections the test can cut, as a flaky network would. */
async function cuttableProxy(target: string): Promise<{ url: string; cut: () => number; close: () => Promise<void> }> {
  const { hostname, port } = new URL(target);
  const open = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        open.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const proxyPort = (proxy.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${proxyPort}/graphql`,
    cut: () => {
      const count = open.size;
      for (const socket of open) socket.destroy();
      return count;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        proxy.close(() => resolve());
      }),
  };
}

const METRIC_LINE = /^\{"mp":"metric","name":"(loss|val_corr)","step":\d+,"value":-?[\d.e+-]+\}$/m;

describe(`mp train against the real server (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  this.timeout(180_000);
  let server: TestServer;
  let configHome: string;
  let env: NodeJS.ProcessEnv;
  /** A run of the runpod-signal-train template with epochs=3 that succeeded (made by the first test). */
  let succeeded: string | undefined;

  before(async () => {
    configHome = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-train-it-'));
    // Local runs may execute as another user (nobody, when the tests run as root): it reads the template.
    fs.chmodSync(configHome, 0o755);
    writeSlowTemplate(path.join(configHome, 'templates'));
    server = await startTestServer({ MP_TEMPLATES_DIR: path.join(configHome, 'templates') });
    const vendor = await server.createVendor('Train CLI Vendor');
    env = { XDG_CONFIG_HOME: configHome, MP_API_KEY: vendor.apiKey, MP_API_URL: server.graphqlUrl };
  });
  after(async () => {
    await server?.close();
    if (configHome) fs.rmSync(configHome, { recursive: true, force: true });
  });

  /** `mp train logs <id> -f` in the background; `firstLine` resolves once it printed a line. */
  function spawnFollow(id: string, extra: string[] = [], extraEnv: NodeJS.ProcessEnv = {}) {
    const { child, done } = spawnMp(['train', 'logs', id, '-f', ...extra], { env: { ...env, ...extraEnv } });
    const firstLine = new Promise<void>((resolve) => {
      let stdout = '';
      child.stdout?.on('data', (chunk: string) => {
        stdout += chunk;
        if (stdout.includes('\n')) resolve();
      });
      child.on('close', () => resolve());
    });
    return { child, firstLine, done };
  }

  async function startRun(...args: string[]): Promise<string> {
    const started = await runMp(['train', 'start', '--task', 'signal', '--json', ...args], { env });
    assert.equal(started.code, 0, show(started));
    const run = JSON.parse(started.stdout) as RunJson;
    assert.match(run.id, /\S/);
    return run.id;
  }

  it('starts a local run of runpod-signal-train with --hp epochs=3; logs -f prints its metric lines and exits 0', async () => {
    const started = await runMp(
      ['train', 'start', '--task', 'signal', '--round', 'current', '--hp', 'epochs=3', '--provider', 'local', '--timeout', '10m', '--budget', '5'],
      { env },
    );
    assert.equal(started.code, 0, show(started));
    const id = /Started training run (\S+) \((QUEUED|STARTING|RUNNING)\)/.exec(started.stdout)?.[1];
    assert.ok(id, show(started));
    assert.match(started.stdout, /signal on round \d+, CPU on local/);
    assert.match(started.stderr, new RegExp(`mp train logs ${id} -f`));

    const followed = await runMp(['train', 'logs', id, '-f'], { env });
    assert.equal(followed.code, 0, show(followed));
    const metricLines = followed.stdout.split('\n').filter((text) => METRIC_LINE.test(text));
    assert.ok(metricLines.filter((text) => text.includes('"name":"loss"')).length === 3, `3 loss lines:\n${show(followed)}`);
    assert.ok(
      metricLines.some((text) => text.includes('"name":"val_corr"')),
      show(followed),
    );
    assert.match(followed.stderr, new RegExp(`run ${id} SUCCEEDED`));
    assertNoStack(followed);

    // Every stored line once, in order: the same as `logs` without -f, and as many as the run counted.
    const stored = await runMp(['train', 'logs', id], { env });
    assert.equal(stored.code, 0, show(stored));
    assert.equal(stored.stdout, followed.stdout);
    const json = await runMp(['train', 'logs', id, '--json'], { env });
    const lines = json.stdout
      .trimEnd()
      .split('\n')
      .map((text) => JSON.parse(text) as { seq: number; at: string; stream: string; line: string });
    assert.deepEqual(
      lines.map((entry) => entry.seq),
      Array.from({ length: lines.length }, (_, index) => index + 1),
    );
    const run = JSON.parse((await runMp(['train', 'status', id, '--json'], { env })).stdout) as RunDetailJson;
    assert.equal(run.logLineCount, lines.length);
    assert.equal(lines.map((entry) => `${entry.line}\n`).join(''), followed.stdout);

    const tail = await runMp(['train', 'logs', id, '--tail', '2', '--json'], { env });
    assert.deepEqual(
      tail.stdout
        .trimEnd()
        .split('\n')
        .map((text) => (JSON.parse(text) as { seq: number }).seq),
      [lines.length - 1, lines.length],
    );
    succeeded = id;
  });

  it('shows my runs as a table and one run with its state, cost, metrics and artifacts', async () => {
    assert.ok(succeeded, 'needs the run of the first test');
    const list = await runMp(['train', 'status'], { env });
    assert.equal(list.code, 0, show(list));
    const [header, ...rows] = list.stdout.trimEnd().split('\n');
    assert.match(header, /^ID\s+STATUS\s+TASK\s+ROUND\s+GPU\s+PROVIDER\s+QUEUED\s+DURATION\s+COST\s+VAL_CORR\s+LOSS$/);
    const row = rows.find((text) => text.startsWith(succeeded!));
    assert.ok(row, show(list));
    assert.match(row, /\ssucceeded\s+signal\s+\d+\s+CPU\s+local\s+\d{4}-\d\d-\d\d\s+\S+.*\$\d+\.\d{2,}\s+-?[\d.e-]+\s+[\d.e-]+$/);

    const listed = JSON.parse((await runMp(['train', 'status', '--json', '--status', 'succeeded'], { env })).stdout) as RunJson[];
    assert.ok(listed.some((candidate) => candidate.id === succeeded));
    assert.ok(listed.every((candidate) => candidate.status === 'SUCCEEDED'));
    const running = JSON.parse((await runMp(['train', 'status', '--json', '--status', 'running,queued'], { env })).stdout) as RunJson[];
    assert.ok(!running.some((candidate) => candidate.id === succeeded));

    const one = await runMp(['train', 'status', succeeded], { env });
    assert.equal(one.code, 0, show(one));
    assert.match(one.stdout, new RegExp(`^${succeeded}\n`));
    assert.match(one.stdout, /Status:\s+SUCCEEDED \(exit code 0\)/);
    assert.match(one.stdout, /Hyperparams:\s+epochs=3/);
    assert.match(one.stdout, /Provider:\s+local/);
    assert.match(one.stdout, /Started:\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    assert.match(one.stdout, /Finished:\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    assert.match(one.stdout, /Cost:\s+\$\d+\.\d{2,} of \$5\.00 budget/);
    assert.match(one.stdout, /Metrics\nNAME\s+LAST\s+STEP\s+MIN\s+MAX\s+POINTS\n/);
    assert.match(one.stdout, /\nloss\s+\S+\s+\d+\s+\S+\s+\S+\s+3\n/);
    assert.match(one.stdout, /Artifacts\nNAME\s+SIZE\s+SHA256\n(.*\n)*model\.json\s+[\d.]+ k?B\s+[0-9a-f]{12}\n/);
    assert.match(one.stderr, new RegExp(`Logs: mp train logs ${succeeded}`));

    const json = JSON.parse((await runMp(['train', 'status', succeeded, '--json'], { env })).stdout) as RunDetailJson;
    assert.equal(json.status, 'SUCCEEDED');
    assert.ok(json.artifacts.some((artifact) => artifact.name === 'model.json' && artifact.downloadUrl?.startsWith('http')));
  });

  it('exits 5 with the server message when stopping a run that already finished', async () => {
    assert.ok(succeeded, 'needs the run of the first test');
    const stop = await runMp(['train', 'stop', succeeded], { env });
    assert.equal(stop.code, 5, show(stop));
    assert.match(stop.stderr, /^mp: .+\n/);
    assertNoStack(stop);
  });

  it('exits 2 naming the argument for --hp without "=", before any request', async () => {
    const result = await runMp(['train', 'start', '--task', 'signal', '--hp', 'epochs=3', '--hp', 'lr'], { env });
    assert.equal(result.code, 2, show(result));
    assert.match(result.stderr, /^mp: invalid --hp "lr": no "="/);
    assert.match(result.stderr, /mp train start --help/);
    assert.equal(result.stdout, '');
  });

  it('exits 4 for an unknown run id in status, logs, logs -f and stop', async () => {
    for (const args of [
      ['status', 'trn_doesnotexist'],
      ['logs', 'trn_doesnotexist'],
      ['logs', 'trn_doesnotexist', '-f'],
      ['stop', 'trn_doesnotexist'],
    ]) {
      const result = await runMp(['train', ...args], { env });
      assert.equal(result.code, 4, `mp train ${args.join(' ')}\n${show(result)}`);
      assert.match(result.stderr, /^mp: /);
      assertNoStack(result);
    }
  });

  it("exits 4 for another vendor's run: it does not leak", async () => {
    assert.ok(succeeded, 'needs the run of the first test');
    const other = await server.createVendor();
    const otherEnv = { ...env, MP_API_KEY: other.apiKey };
    assert.equal((await runMp(['train', 'status', succeeded], { env: otherEnv })).code, 4);
    assert.equal((await runMp(['train', 'logs', succeeded, '-f'], { env: otherEnv })).code, 4);
  });

  it('exits 5 naming the hyperparameter the template does not declare (--hp unknown_param=1)', async () => {
    // The server checks --hp against the template's declared hyperparameters before queuing.
    const result = await runMp(['train', 'start', '--task', 'signal', '--hp', 'unknown_param=1'], { env });
    assert.equal(result.code, 5, show(result));
    assert.match(result.stderr, /unknown_param/);
    assertNoStack(result);
  });

  it('a run whose training program fails: logs -f exits 7 with "run <id> FAILED: <reason>"', async () => {
    // lr=1 with l2=100 are each within the declared ranges, but the weights blow up: the
    // template exits 1 ("training diverged").
    const id = await startRun('--hp', 'lr=1', '--hp', 'l2=100', '--hp', 'epochs=5');
    const followed = await runMp(['train', 'logs', id, '-f'], { env });
    assert.equal(followed.code, 7, show(followed));
    assert.match(followed.stderr, new RegExp(`^mp: run ${id} FAILED: .+$`, 'm'));
    assertNoStack(followed);
    const status = await runMp(['train', 'status', id], { env });
    assert.match(status.stdout, /Status:\s+FAILED/);
  });

  it('stopping a running run exits 0; logs -f of it then exits 7 (CANCELLED)', async () => {
    const id = await startRun('--template', SLOW_TEMPLATE);
    const follow = spawnFollow(id, ['--json']);
    await follow.firstLine;
    const stop = await runMp(['train', 'stop', id], { env });
    assert.equal(stop.code, 0, show(stop));
    assert.match(stop.stdout, new RegExp(`✓ Stop(ped|ping) training run ${id}`));
    const followed = await follow.done;
    assert.equal(followed.code, 7, show(followed));
    assert.match(followed.stderr, new RegExp(`^mp: run ${id} CANCELLED: .+$`, 'm'));
    const seqs = followed.stdout
      .split('\n')
      .filter(Boolean)
      .map((text) => (JSON.parse(text) as { seq: number }).seq);
    assert.deepEqual(
      seqs,
      Array.from({ length: seqs.length }, (_, index) => index + 1),
      'every line once, in order',
    );
    const again = await runMp(['train', 'stop', id], { env });
    assert.equal(again.code, 5, show(again));
  });

  it('logs -f survives a cut connection: it reconnects and prints every line once, then exits 0', async () => {
    const id = await startRun('--template', SLOW_TEMPLATE, '--hp', 'seconds=4');
    const proxy = await cuttableProxy(server.graphqlUrl);
    try {
      const follow = spawnFollow(id, ['--json'], { MP_API_URL: proxy.url });
      await follow.firstLine;
      assert.ok(proxy.cut() > 0, 'the WebSocket went through the proxy');
      const followed = await follow.done;
      assert.equal(followed.code, 0, show(followed));
      assert.match(followed.stderr, /reconnecting in [\d.]+ s .*resuming after line \d+/);
      assert.match(followed.stderr, /Reconnected; resuming after line \d+/);
      const seqs = followed.stdout
        .split('\n')
        .filter(Boolean)
        .map((text) => (JSON.parse(text) as { seq: number }).seq);
      const run = JSON.parse((await runMp(['train', 'status', id, '--json'], { env })).stdout) as RunDetailJson;
      assert.equal(run.status, 'SUCCEEDED');
      assert.deepEqual(
        seqs,
        Array.from({ length: run.logLineCount }, (_, index) => index + 1),
        'no line twice, none skipped',
      );
    } finally {
      await proxy.close();
    }
  });

  it('Ctrl-C on logs -f exits 130 and leaves the run running', async () => {
    const id = await startRun('--template', SLOW_TEMPLATE, '--hp', 'seconds=30');
    const follow = spawnFollow(id);
    await follow.firstLine;
    follow.child.kill('SIGINT');
    const followed = await follow.done;
    assert.equal(followed.code, 130, show(followed));
    assert.match(followed.stderr, /stopped following run .*; the run itself keeps going/);
    assertNoStack(followed);
    const run = JSON.parse((await runMp(['train', 'status', id, '--json'], { env })).stdout) as RunDetailJson;
    assert.equal(run.status, 'RUNNING');
    assert.equal((await runMp(['train', 'stop', id], { env })).code, 0);
  });

  it('start --follow runs to the end and exits 0', async () => {
    const result = await runMp(['train', 'start', '--task', 'signal', '--hp', 'epochs=1', '--follow'], { env });
    assert.equal(result.code, 0, show(result));
    assert.match(result.stderr, /Started training run (\S+)/);
    assert.match(result.stdout, METRIC_LINE);
    assert.doesNotMatch(result.stdout, /Started training run/, 'stdout carries log lines only');
    assert.match(result.stderr, /SUCCEEDED/);
  });
});
