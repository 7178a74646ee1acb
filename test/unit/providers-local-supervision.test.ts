import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalProvider } from '../../server/providers/local';
import type { GpuType, JobEvents, TrainingJob } from '../../server/providers/provider';
import { eventually, groupMembers, isRunning, killQuietly, procStat } from '../helpers/processes';

const ROOT = path.resolve(__dirname, '../..');
const CPU: GpuType = { id: 'CPU', providerGpuId: 'cpu', displayName: 'Local CPU', memoryGb: 8, pricePerHourUsd: '0.00', provider: 'LOCAL' };

/** Writes its pid (and with `daemon` that of a helper that left its session) to MP_OUTPUT_DIR/pids.json; then sleeps, or exits with `exit`. */
const PROGRAM = `
const fs = require('fs'), path = require('path'), { spawn } = require('child_process');
const hp = JSON.parse(process.env.MP_HPARAMS);
const pids = { program: process.pid };
if (hp.daemon) {
  const daemon = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore' });
  daemon.unref();
  pids.daemon = daemon.pid;
}
const out = path.join(process.env.MP_OUTPUT_DIR, 'pids.json');
fs.writeFileSync(out + '.tmp', JSON.stringify(pids));
fs.renameSync(out + '.tmp', out);
if (hp.exit) process.exit(0);
setInterval(() => {}, 1000);
`;

/** A stand-in for the server: a process of its own that runs one job on a LocalProvider and prints "running <pid>". */
const MINI_SERVER = `
const { LocalProvider } = require(${JSON.stringify(path.join(ROOT, 'server/providers/local'))});
const { workRoot, job } = JSON.parse(process.env.MINI_SERVER);
const events = { submitted: async (id) => console.log('running ' + id.slice('local-'.length)), running() {}, log() {}, metric() {} };
void new LocalProvider({ workRoot }).run(job, events, new AbortController().signal);
`;

interface Pids {
  program: number;
  daemon?: number;
}

const quietEvents: JobEvents = { submitted: async () => undefined, running: () => undefined, log: () => undefined, metric: () => undefined };

describe('LocalProvider: a program never outlives its server or its run', function () {
  this.timeout(60_000);
  let root: string;
  let workRoot: string;
  let templateDir: string;
  const leftovers: number[] = [];
  const servers: ChildProcess[] = [];

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'mp-supervision-'));
    workRoot = path.join(root, 'data', 'runs');
    templateDir = path.join(root, 'template');
    await mkdir(templateDir, { recursive: true });
    await chmod(root, 0o755);
    await writeFile(path.join(templateDir, 'package.json'), JSON.stringify({ name: 'sleeper', main: 'train.js' }));
    await writeFile(path.join(templateDir, 'train.js'), PROGRAM);
  });

  afterEach(async () => {
    for (const server of servers.splice(0)) killQuietly(server.pid);
    for (const pid of leftovers.splice(0)) killQuietly(pid);
    await rm(root, { recursive: true, force: true });
  });

  function job(runId: string, hyperparameters: TrainingJob['hyperparameters'] = {}): TrainingJob {
    return { runId, task: 'SIGNAL', roundNumber: 1, files: [], hyperparameters, gpuType: CPU, timeoutSeconds: 600, templateDir };
  }

  async function pidsOf(runId: string): Promise<Pids> {
    const file = path.join(workRoot, runId, 'output', 'pids.json');
    assert.ok(await eventually(() => existsSync(file)), `${file} was written`);
    const pids = JSON.parse(readFileSync(file, 'utf8')) as Pids;
    leftovers.push(pids.program, ...(pids.daemon ? [pids.daemon] : []));
    return pids;
  }

  /** Starts the stand-in server on run `runId` and waits until its program runs. */
  async function startMiniServer(runId: string): Promise<{ server: ChildProcess; pids: Pids }> {
    const server = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', MINI_SERVER], {
      cwd: ROOT,
      env: { ...process.env, MINI_SERVER: JSON.stringify({ workRoot, job: job(runId) }) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    servers.push(server);
    let output = '';
    server.stdout!.on('data', (chunk: Buffer) => (output += chunk));
    assert.ok(await eventually(() => /running \d+/.test(output), 20_000), 'the stand-in server started the program');
    return { server, pids: await pidsOf(runId) };
  }

  it('ends the program with its server when the server is SIGKILLed, though the program never writes a byte', async () => {
    const { server, pids } = await startMiniServer('run-killed');
    const supervisor = procStat(pids.program)!.ppid;
    server.kill('SIGKILL');
    assert.ok(await eventually(() => !isRunning(pids.program)), 'the program is gone');
    assert.deepEqual(groupMembers(pids.program), []);
    assert.notEqual(supervisor, server.pid, "the program ran under a supervisor, not as the server's child");
    assert.ok(await eventually(() => !isRunning(supervisor)), 'and the supervisor is gone too');
  });

  it('sweeps up after a dead server whose supervisor died with it: kills the program and removes the work directory, leaving live runs alone', async () => {
    const { server, pids } = await startMiniServer('run-orphaned');
    const supervisor = procStat(pids.program)!.ppid;
    process.kill(supervisor, 'SIGSTOP');
    server.kill('SIGKILL');
    process.kill(supervisor, 'SIGKILL');
    assert.ok(await eventually(() => !isRunning(supervisor)));
    assert.ok(isRunning(pids.program), 'the orphan survives until a sweep');

    // A run of this (live) process on the same work root: the sweep must not touch it.
    const live = new LocalProvider({ workRoot });
    const controller = new AbortController();
    const running = live.run(job('run-live'), quietEvents, controller.signal);
    const livePids = await pidsOf('run-live');
    await mkdir(path.join(workRoot, 'stray-dir'));

    const cleaned = await new LocalProvider({ workRoot }).sweep();
    assert.deepEqual(cleaned.sort(), ['run-orphaned', 'stray-dir']);
    assert.ok(await eventually(() => !isRunning(pids.program)), 'the sweep ended the orphan');
    assert.equal(existsSync(path.join(workRoot, 'run-orphaned')), false);
    assert.equal(existsSync(path.join(workRoot, 'stray-dir')), false);
    assert.ok(isRunning(livePids.program), 'the live run goes on');
    assert.ok(existsSync(path.join(workRoot, 'run-live', 'output')));

    controller.abort('CANCELLED');
    assert.equal((await running).status, 'ABORTED');
    await live.cleanup('run-live');
    assert.equal(existsSync(path.join(workRoot, 'run-live')), false);
  });

  it('ends a helper that left the process group (setsid) when the program exits, and another left behind by a lost run on cleanup', async () => {
    const provider = new LocalProvider({ workRoot });
    const result = await provider.run(job('run-helper', { daemon: true, exit: true }), quietEvents, new AbortController().signal);
    assert.equal(result.status, 'SUCCEEDED', result.failureReason ?? '');
    const pids = await pidsOf('run-helper');
    assert.ok(pids.daemon);
    assert.ok(await eventually(() => !isRunning(pids.daemon!)), 'the helper did not outlive the run');
    await provider.cleanup('run-helper');

    const { server, pids: lost } = await startMiniServer('run-lost');
    const supervisor = procStat(lost.program)!.ppid;
    process.kill(supervisor, 'SIGSTOP');
    server.kill('SIGKILL');
    process.kill(supervisor, 'SIGKILL');
    assert.ok(await eventually(() => !isRunning(supervisor)));
    // What the worker's reaper does for a run it ended as "worker lost".
    await provider.cleanup('run-lost');
    assert.ok(await eventually(() => !isRunning(lost.program)));
    assert.equal(existsSync(path.join(workRoot, 'run-lost')), false);
  });
});
