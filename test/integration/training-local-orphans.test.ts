import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPostgresDatabase, postGraphQL, usingPostgres } from '../helpers/server';
import { runServerCommand, startServerProcess, type RunningServer } from '../helpers/server-process';
import { eventually, groupMembers, isRunning, killQuietly, procStat } from '../helpers/processes';
import { TestStartTrainingRunIdDocument, TestTrainingRunOutcomeDocument as RUN } from '../../generated/test-operations';

/**
 * A silent, never-ending program: it prints nothing (so it never notices a closed pipe), writes
 * its pid (and, with `daemon`, the pid of a helper that left its session with setsid) to
 * MP_OUTPUT_DIR/pids.json, then sleeps.
 */
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
setInterval(() => {}, 1000);
`;

function running(server: RunningServer): boolean {
  return server.child.exitCode === null && server.child.signalCode === null;
}

interface Pids {
  program: number;
  daemon?: number;
}

/** A real server process, SIGKILLed with a LOCAL run in progress, then restarted on the same data directory and database. */
describe(`local training programs when their server dies (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  this.timeout(120_000);
  let dataDir: string;
  let templates: string;
  let env: Record<string, string>;
  let apiKey: string;
  let server: RunningServer | undefined;
  let dropDatabase: (() => Promise<void>) | undefined;
  const leftovers: number[] = [];

  before(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'mp-orphans-'));
    // The program may run as another user (nobody, when the tests run as root): it must be able to read its template.
    templates = await mkdtemp(path.join(tmpdir(), 'mp-orphans-templates-'));
    await chmod(templates, 0o755);
    await mkdir(path.join(templates, 'silent-sleeper'));
    await writeFile(
      path.join(templates, 'silent-sleeper', 'package.json'),
      JSON.stringify({ name: 'silent-sleeper', main: 'train.js', mp: { hyperparameters: { daemon: { type: 'boolean', default: false } } } }),
    );
    await writeFile(path.join(templates, 'silent-sleeper', 'train.js'), PROGRAM);
    env = { MP_DATA_DIR: dataDir, MP_TEMPLATES_DIR: templates, MP_TRAINING_LEASE_SECONDS: '3' };
    if (usingPostgres) {
      const created = await createPostgresDatabase();
      dropDatabase = created.drop;
      Object.assign(env, { DATABASE_URL: created.url, MP_SEED_DEMO: 'true' });
      const migrated = await runServerCommand(['migrate'], env);
      assert.equal(migrated.code, 0, migrated.stderr);
    }
    const created = await runServerCommand(['vendor', 'create', '--name', 'Orphan Lab', '--email', 'o@example.com', '--json'], env);
    assert.equal(created.code, 0, created.stderr);
    apiKey = (JSON.parse(created.stdout) as { apiKey: string }).apiKey;
  });

  after(async () => {
    for (const pid of leftovers) killQuietly(pid);
    if (server && running(server)) await server.stop('SIGKILL');
    await dropDatabase?.();
    await rm(dataDir, { recursive: true, force: true });
    await rm(templates, { recursive: true, force: true });
  });

  /** Starts a run of the silent program and waits until it wrote its pids. */
  async function startSilentRun(daemon: boolean): Promise<{ id: string; pids: Pids; workDir: string }> {
    const started = await postGraphQL(
      server!.graphqlUrl,
      TestStartTrainingRunIdDocument,
      { spec: { task: 'SIGNAL', template: 'silent-sleeper', hyperparameters: [{ name: 'daemon', value: daemon }] } },
      apiKey,
    );
    assert.equal(started.errors, undefined, JSON.stringify(started.errors));
    const id = started.data!.startTrainingRun.id;
    const workDir = path.join(dataDir, 'runs', id);
    const pidsFile = path.join(workDir, 'output', 'pids.json');
    assert.ok(await eventually(() => existsSync(pidsFile), 30_000), `the program wrote ${pidsFile}\n${server!.output()}`);
    const pids = JSON.parse(readFileSync(pidsFile, 'utf8')) as Pids;
    leftovers.push(pids.program, ...(pids.daemon ? [pids.daemon] : []));
    assert.ok(isRunning(pids.program));
    return { id, pids, workDir };
  }

  async function finalRun(id: string): Promise<{ status: string; failureReason?: string | null }> {
    let run: { status: string; failureReason?: string | null } = { status: 'unknown' };
    await eventually(async () => {
      run = (await postGraphQL(server!.graphqlUrl, RUN, { id }, apiKey)).data!.trainingRun;
      return run.status === 'FAILED';
    }, 30_000);
    return run;
  }

  it('ends the program with its server, and on restart ends what left the group, fails the run and removes its work directory', async () => {
    server = await startServerProcess(env);
    const { id, pids, workDir } = await startSilentRun(true);
    assert.ok(pids.daemon && isRunning(pids.daemon));

    await server.stop('SIGKILL');
    assert.ok(await eventually(() => !isRunning(pids.program)), 'the program died with its server');
    assert.deepEqual(groupMembers(pids.program), [], 'nothing is left in its process group');
    // It left its session (setsid), so only the restart can find it: by the run id in its environment.
    assert.ok(isRunning(pids.daemon), 'the helper that left the process group is still running before the restart');

    server = await startServerProcess(env);
    const run = await finalRun(id);
    assert.equal(run.status, 'FAILED');
    assert.match(run.failureReason ?? '', /worker lost/);
    assert.ok(await eventually(() => !isRunning(pids.daemon!)), 'the restart ended the helper the run left behind');
    assert.ok(await eventually(() => !existsSync(workDir)), 'the restart removed the work directory');
  });

  it("ends a hung server's program when another server's reaper fails the run as worker lost, and removes its work directory", async function () {
    // Two server processes on one data directory: only PostgreSQL serves more than one.
    if (!usingPostgres) this.skip();
    if (!server || !running(server)) server = await startServerProcess(env);
    const { id, pids, workDir } = await startSilentRun(false);
    const hung = server;
    hung.child.kill('SIGSTOP'); // alive (its supervisor keeps the program going) but no longer renewing the lease
    try {
      server = await startServerProcess(env);
      assert.ok(isRunning(pids.program), 'the program of a live (hung) server survives the start of another');
      const run = await finalRun(id);
      assert.equal(run.status, 'FAILED');
      assert.match(run.failureReason ?? '', /worker lost/);
      assert.ok(await eventually(() => !isRunning(pids.program)), "the reaper's cleanup ended the program");
      assert.deepEqual(groupMembers(pids.program), []);
      assert.ok(await eventually(() => !existsSync(workDir)), 'and removed the work directory');
    } finally {
      hung.child.kill('SIGKILL');
      hung.child.kill('SIGCONT');
    }
  });

  it('on restart ends a program whose supervisor died with the server, fails the run and removes its work directory', async () => {
    if (!server || !running(server)) server = await startServerProcess(env);
    const { id, pids, workDir } = await startSilentRun(false);
    // Both killed at once (an OOM kill of the whole service, say): the supervisor, stopped first, never sees the pipe close.
    const supervisor = procStat(pids.program)!.ppid;
    assert.notEqual(supervisor, server.child.pid, "the program is not the server's own child but its supervisor's");
    process.kill(supervisor, 'SIGSTOP');
    await server.stop('SIGKILL');
    process.kill(supervisor, 'SIGKILL');
    assert.ok(await eventually(() => !isRunning(supervisor)));
    assert.ok(isRunning(pids.program), 'with its supervisor gone too, the program survives until the restart');

    server = await startServerProcess(env);
    assert.ok(await eventually(() => !isRunning(pids.program)), 'the restart ended the program');
    assert.deepEqual(groupMembers(pids.program), []);
    const run = await finalRun(id);
    assert.equal(run.status, 'FAILED');
    assert.ok(await eventually(() => !existsSync(workDir)), 'the restart removed the work directory');
  });
});
