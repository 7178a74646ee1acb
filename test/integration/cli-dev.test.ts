// `mp dev` as a vendor runs it: a real mp process in a project made by `mp init`, serving a real
// endpoint child process. The project's dependencies come from the repository's node_modules
// through NODE_PATH (nothing is installed).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ExitCode } from '../../cli/errors';
import { runMp, spawnMp, type MpProcess } from '../helpers/cli-process';
import { eventually } from '../helpers/processes';

const ROOT = path.resolve(__dirname, '..', '..');
const NODE_PATH = path.join(ROOT, 'node_modules');
const READY = /Ready at (http:\/\/127\.0\.0\.1:\d+) \(model built-in\)/g;

interface Dev {
  mp: MpProcess;
  stdout(): string;
  stderr(): string;
}

function startDev(cwd: string, args: string[] = ['--port', '0']): Dev {
  const mp = spawnMp(['dev', ...args], { cwd, configHome: path.join(cwd, '.config'), env: { NODE_PATH } });
  let stdout = '';
  let stderr = '';
  mp.child.stdout?.on('data', (chunk: string) => (stdout += chunk));
  mp.child.stderr?.on('data', (chunk: string) => (stderr += chunk));
  return { mp, stdout: () => stdout, stderr: () => stderr };
}

function readyUrls(dev: Dev): string[] {
  return [...dev.stdout().matchAll(READY)].map((match) => match[1]);
}

async function waitFor(dev: Dev, what: string, check: () => boolean): Promise<void> {
  const ok = await eventually(check, 20_000);
  assert.ok(ok, `${what}\n--- stdout\n${dev.stdout()}\n--- stderr\n${dev.stderr()}`);
}

async function answersHealth(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/health`);
    return response.status === 200 && ((await response.json()) as { status: string }).status === 'READY';
  } catch {
    return false;
  }
}

describe('mp dev', function () {
  this.timeout(60_000);
  let work: string;
  let project: string;
  let dev: Dev | undefined;

  beforeEach(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-dev-it-'));
    const init = await runMp(['init', '--template', 'runpod-signal-http', 'endpoint'], { cwd: work, configHome: path.join(work, '.config') });
    assert.equal(init.code, 0, init.stderr);
    project = path.join(work, 'endpoint');
  });
  afterEach(async () => {
    if (dev && dev.mp.child.exitCode === null) {
      dev.mp.child.kill('SIGINT');
      await dev.mp.done;
    }
    dev = undefined;
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('serves the project, prints its URL once /health answers, restarts it when src/ changes, and exits 130 on Ctrl-C', async () => {
    dev = startDev(project);
    await waitFor(dev, 'no "Ready at" line', () => readyUrls(dev!).length === 1);
    const [url] = readyUrls(dev);
    assert.ok(await answersHealth(url));
    const answer = await fetch(`${url}/v1/signal`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ symbol: 'AAPL', asOf: '2026-11-20T21:00:00Z', horizonDays: 5 }),
    });
    assert.equal(answer.status, 200);
    assert.match(dev.stdout(), /listening on http:\/\/127\.0\.0\.1:\d+/, "the endpoint's own output is forwarded");
    assert.match(dev.stderr(), /mp dev: running node --require tsx\/cjs src\/server\.ts on port \d+; it restarts when a file under src\/ changes/);

    fs.appendFileSync(path.join(project, 'src', 'server.ts'), "\nconsole.log('edited and restarted');\n");
    await waitFor(dev, 'no restart after the change', () => readyUrls(dev!).length === 2 && dev!.stdout().includes('edited and restarted'));
    assert.match(dev.stderr(), /mp dev: src\/server\.ts changed: restarting/);
    assert.equal(readyUrls(dev)[1], url, 'the restart keeps the port');
    assert.ok(await answersHealth(url));
    assert.equal(dev.stdout().match(/SIGTERM: shutting down/g)?.length, 1, 'the old endpoint was stopped cleanly');

    dev.mp.child.kill('SIGINT');
    const result = await dev.mp.done;
    assert.equal(result.code, ExitCode.INTERRUPTED, result.stderr);
    assert.match(result.stderr, /^mp: stopped the endpoint$/m);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
    assert.equal(dev.stdout().match(/SIGTERM: shutting down/g)?.length, 2, 'Ctrl-C stopped the endpoint cleanly');
    assert.equal(await answersHealth(url), false, 'the endpoint still answers after mp dev exited');
  });

  it('keeps watching when the endpoint exits on its own, and starts it again on the next change', async () => {
    const main = path.join(project, 'src', 'server.ts');
    const original = fs.readFileSync(main, 'utf8');
    dev = startDev(project);
    await waitFor(dev, 'no "Ready at" line', () => readyUrls(dev!).length === 1);

    fs.writeFileSync(main, `${original}\nprocess.exit(3);\n`);
    await waitFor(dev, 'no word of the exit', () => /the endpoint exited with code 3; it restarts when a file under src\/ changes/.test(dev!.stderr()));
    assert.equal(dev.mp.child.exitCode, null, 'mp dev ended with the endpoint');

    fs.writeFileSync(main, original);
    await waitFor(dev, 'not ready again after the fix', () => readyUrls(dev!).length === 2);
    assert.ok(await answersHealth(readyUrls(dev)[1]));
  });

  it('refuses to run outside a serving project, and in one whose dependencies are not installed, with exit 5', async () => {
    const empty = path.join(work, 'empty');
    fs.mkdirSync(empty);
    const outside = await runMp(['dev'], { cwd: empty, env: { NODE_PATH } });
    assert.equal(outside.code, ExitCode.INVALID);
    assert.match(outside.stderr, /^mp: .*empty is not a serving template's project: it has no package\.json\n/);
    assert.match(outside.stderr, /mp init --template runpod-signal-http/);

    const trainInit = await runMp(['init', '--template', 'runpod-signal-train', 'trainer'], { cwd: work, configHome: path.join(work, '.config') });
    assert.equal(trainInit.code, 0, trainInit.stderr);
    const training = await runMp(['dev'], { cwd: path.join(work, 'trainer'), env: { NODE_PATH } });
    assert.equal(training.code, ExitCode.INVALID);
    assert.match(training.stderr, /is not an inference endpoint's project .*a training program runs with npm start/);

    const notInstalled = await runMp(['dev'], { cwd: project, env: { NODE_PATH: '' } });
    assert.equal(notInstalled.code, ExitCode.INVALID);
    assert.match(notInstalled.stderr, /^mp: the project's dependencies are not installed \(zod\)\nRun `npm install` first\./);
  });

  it('refuses a port in use with exit 5 and a bad --port with exit 2', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const taken = await runMp(['dev', '--port', String(port)], { cwd: project, env: { NODE_PATH } });
      assert.equal(taken.code, ExitCode.INVALID);
      assert.match(taken.stderr, new RegExp(`^mp: port ${port} on 127\\.0\\.0\\.1 is already in use\\n.*--port 0`));
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
    const bad = await runMp(['dev', '--port', 'eighty'], { cwd: project, env: { NODE_PATH } });
    assert.equal(bad.code, ExitCode.USAGE);
    assert.match(bad.stderr, /invalid --port "eighty"/);
  });
});
