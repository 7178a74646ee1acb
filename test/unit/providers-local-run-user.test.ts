import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalProvider } from '../../server/providers/local';
import { resolveRunUser } from '../../server/providers/local/run-user';
import type { GpuType, JobEvents, TrainingJob } from '../../server/providers/provider';

/** nobody's ids as the system's own `id` reports them. */
function nobody(): { name: string; uid: number; gid: number } {
  const id = (flag: string): number => Number(execFileSync('id', [flag, 'nobody'], { encoding: 'utf8' }).trim());
  return { name: 'nobody', uid: id('-u'), gid: id('-g') };
}

const CPU: GpuType = { id: 'CPU', providerGpuId: 'cpu', displayName: 'Local CPU', memoryGb: 8, pricePerHourUsd: '0.00', provider: 'LOCAL' };

/** Tries to reach what a training program must not, and prints one JSON line of what happened. */
const PROBE = `
const fs = require('fs'), path = require('path');
const hp = JSON.parse(process.env.MP_HPARAMS);
const attempt = (fn) => { try { fn(); return 'ok'; } catch (error) { return error.code; } };
// Beyond stdout and stderr (sockets to the server), no socket: the supervisor's channel is not inherited.
const fds = fs.readdirSync('/proc/self/fd').filter((fd) => Number(fd) > 2).map((fd) => { try { return fs.readlinkSync('/proc/self/fd/' + fd); } catch { return ''; } });
console.log(JSON.stringify({
  uid: process.getuid(),
  gid: process.getgid(),
  environ: attempt(() => fs.readFileSync('/proc/' + hp.server_pid + '/environ')),
  secret: attempt(() => fs.readFileSync(path.join(hp.data_dir, 'signing-secret'))),
  database: attempt(() => fs.readFileSync(path.join(hp.data_dir, 'pglite', 'PG_VERSION'))),
  blob: attempt(() => fs.readFileSync(path.join(hp.data_dir, 'blobs', 'model.bin'))),
  listing: attempt(() => fs.readdirSync(hp.data_dir)),
  otherRuns: attempt(() => fs.readdirSync(path.join(hp.data_dir, 'runs'))),
  roundFiles: attempt(() => fs.readdirSync(process.env.MP_DATA_DIR)),
  output: attempt(() => fs.writeFileSync(path.join(process.env.MP_OUTPUT_DIR, 'model.txt'), 'trained')),
  home: attempt(() => fs.writeFileSync(path.join(process.env.HOME, '.cache'), 'x')),
  sockets: fds.filter((target) => target.startsWith('socket:')),
}));
`;

/** Swaps MP_OUTPUT_DIR for a link to the data directory, as a program trying to smuggle the secret out as an artifact would. */
const SMUGGLER = `
const fs = require('fs'), path = require('path');
const hp = JSON.parse(process.env.MP_HPARAMS);
const out = process.env.MP_OUTPUT_DIR;
if (hp.swap) {
  fs.rmSync(out, { recursive: true });
  fs.symlinkSync(hp.data_dir, out);
} else {
  fs.writeFileSync(path.join(out, 'model.txt'), 'trained');
  fs.symlinkSync(path.join(hp.data_dir, 'signing-secret'), path.join(out, 'secret-link'));
  fs.mkdirSync(path.join(out, 'nested'));
  fs.symlinkSync(hp.data_dir, path.join(out, 'nested', 'data-link'));
}
`;

function readlinkOr(link: string): string {
  try {
    return readlinkSync(link);
  } catch {
    return '';
  }
}

function events(lines: string[]): JobEvents {
  return { submitted: async () => undefined, running: () => undefined, log: (_stream, line) => lines.push(line), metric: () => undefined };
}

describe('LocalProvider: programs run as another user (MP_LOCAL_RUN_USER)', function () {
  this.timeout(30_000);
  let root: string;
  let dataDir: string;
  let workRoot: string;
  const secret = 'S3CRET-signing-secret-0123456789abcdef';

  let nobodyIds: { name: string; uid: number; gid: number };

  before(function () {
    if (process.getuid?.() !== 0) this.skip(); // switching users needs root; as another user programs run as the server's own
    nobodyIds = nobody();
  });

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'mp-run-user-'));
    await chmod(root, 0o755); // the directories above MP_DATA_DIR must be searchable by the run's user
    dataDir = path.join(root, 'data');
    workRoot = path.join(dataDir, 'runs');
    // As the server leaves them: a loose secret, PGlite's world-writable files, blobs readable by all.
    await mkdir(path.join(dataDir, 'pglite'), { recursive: true, mode: 0o755 });
    await writeFile(path.join(dataDir, 'pglite', 'PG_VERSION'), '17\n', { mode: 0o666 });
    await mkdir(path.join(dataDir, 'blobs'), { mode: 0o755 });
    await writeFile(path.join(dataDir, 'blobs', 'model.bin'), 'another vendor', { mode: 0o644 });
    await writeFile(path.join(dataDir, 'signing-secret'), `${secret}\n`, { mode: 0o644 });
    await chmod(dataDir, 0o755);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function template(source: string): Promise<string> {
    const dir = path.join(root, `template-${Math.random().toString(36).slice(2)}`);
    await mkdir(dir, { mode: 0o755 });
    await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'probe', main: 'train.js' }));
    await writeFile(path.join(dir, 'train.js'), source);
    return dir;
  }

  function job(templateDir: string, runId: string, hyperparameters: TrainingJob['hyperparameters'] = {}): TrainingJob {
    return {
      runId,
      task: 'SIGNAL',
      roundNumber: 1,
      files: [],
      hyperparameters: { server_pid: process.pid, data_dir: dataDir, ...hyperparameters },
      gpuType: CPU,
      timeoutSeconds: 600,
      templateDir,
    };
  }

  it('finds the uid and gid of a user by name or uid, and refuses an unknown one', () => {
    assert.deepEqual(resolveRunUser('nobody'), nobodyIds);
    assert.deepEqual(resolveRunUser(String(nobodyIds.uid)), nobodyIds);
    assert.throws(() => resolveRunUser('no-such-user-here'), /there is no user "no-such-user-here"/);
    assert.throws(() => new LocalProvider({ workRoot, runUser: 'no-such-user-here' }), RangeError);
  });

  it("runs the program as that user: it cannot read the server's environment, the signing secret, the database or the blobs", async () => {
    const lines: string[] = [];
    const provider = new LocalProvider({ workRoot, runUser: 'nobody' });
    const result = await provider.run(job(await template(PROBE), 'run-probe'), events(lines), new AbortController().signal);
    assert.equal(result.status, 'SUCCEEDED', `${result.failureReason}\n${lines.join('\n')}`);
    const probe = JSON.parse(lines.find((line) => line.startsWith('{"uid"')) ?? '{}') as Record<string, unknown>;
    assert.deepEqual(probe, {
      uid: nobodyIds.uid,
      gid: nobodyIds.gid,
      environ: 'EACCES',
      secret: 'EACCES',
      database: 'EACCES',
      blob: 'EACCES',
      listing: 'EACCES',
      otherRuns: 'EACCES',
      roundFiles: 'ok',
      output: 'ok',
      home: 'ok',
      sockets: probe.sockets,
    });
    // Sockets the server itself inherited (and so passes on) are not ours to judge; the supervisor's channel is none of them.
    const inherited = new Set(readdirSync('/proc/self/fd').map((fd) => readlinkOr(`/proc/self/fd/${fd}`)));
    assert.deepEqual(
      (probe.sockets as string[]).filter((socket) => !inherited.has(socket)),
      [],
    );
    assert.ok(lines.some((line) => /^started node train\.js \(pid \d+, as nobody\)$/.test(line)));
    assert.deepEqual(
      result.artifacts.map((artifact) => artifact.name),
      ['model.txt'],
    );
    assert.equal(await readFile(result.artifacts[0]!.localPath!, 'utf8'), 'trained');
    // The data directory is searchable but not readable by others; what else is in it is the server's alone.
    assert.equal(statSync(dataDir).mode & 0o777, 0o711);
    assert.equal(statSync(workRoot).mode & 0o777, 0o711);
    for (const entry of ['pglite', 'blobs', 'signing-secret']) assert.equal(statSync(path.join(dataDir, entry)).mode & 0o077, 0, entry);
    // After the run the server holds the directory again.
    assert.equal(statSync(path.join(workRoot, 'run-probe', 'output', 'model.txt')).uid, 0);
    await provider.cleanup('run-probe');
    assert.equal(existsSync(path.join(workRoot, 'run-probe')), false);
  });

  it('takes the directory back before collecting: links a program leaves behind never become artifacts', async () => {
    const provider = new LocalProvider({ workRoot, runUser: 'nobody' });
    const dir = await template(SMUGGLER);
    const swapped = await provider.run(job(dir, 'run-swap', { swap: true }), events([]), new AbortController().signal);
    assert.equal(swapped.status, 'SUCCEEDED', swapped.failureReason ?? '');
    assert.deepEqual(swapped.artifacts, []);
    assert.equal(existsSync(path.join(workRoot, 'run-swap', 'output')), false, 'the link put in place of output/ is gone');

    const linked = await provider.run(job(dir, 'run-links'), events([]), new AbortController().signal);
    assert.equal(linked.status, 'SUCCEEDED', linked.failureReason ?? '');
    assert.deepEqual(
      linked.artifacts.map((artifact) => artifact.name),
      ['model.txt'],
    );
    assert.equal(existsSync(path.join(workRoot, 'run-links', 'output', 'secret-link')), false);
    assert.ok(lstatSync(path.join(workRoot, 'run-links', 'output', 'nested')).isDirectory());
    assert.equal(existsSync(path.join(workRoot, 'run-links', 'output', 'nested', 'data-link')), false);
    assert.equal(await readFile(path.join(dataDir, 'signing-secret'), 'utf8'), `${secret}\n`, 'the secret itself is untouched');
  });

  it("refuses to start when the run's user cannot reach MP_DATA_DIR/runs, saying what to change", async () => {
    await chmod(root, 0o700);
    const provider = new LocalProvider({ workRoot, runUser: 'nobody' });
    await assert.rejects(
      provider.run(job(await template(PROBE), 'run-blocked'), events([]), new AbortController().signal),
      (error: Error) => error.message.includes(`${root} is not searchable by nobody (uid ${nobodyIds.uid})`) && /chmod o\+x/.test(error.message),
    );
  });

  it("fails a run whose template the run's user cannot read, naming the file", async () => {
    const dir = await template(PROBE);
    await chmod(dir, 0o700);
    const result = await new LocalProvider({ workRoot, runUser: 'nobody' }).run(job(dir, 'run-unreadable'), events([]), new AbortController().signal);
    assert.equal(result.status, 'FAILED');
    assert.match(result.failureReason ?? '', /run as nobody, who cannot read .*train\.js: .* is not searchable by nobody/);
  });

  it("runs as the server's own user when told to use it (MP_LOCAL_RUN_USER=root)", async () => {
    const lines: string[] = [];
    const result = await new LocalProvider({ workRoot, runUser: 'root' }).run(
      job(await template(PROBE), 'run-root'),
      events(lines),
      new AbortController().signal,
    );
    assert.equal(result.status, 'SUCCEEDED', result.failureReason ?? '');
    const probe = JSON.parse(lines.find((line) => line.startsWith('{"uid"')) ?? '{}') as { uid: number; secret: string };
    assert.equal(probe.uid, 0);
    assert.equal(probe.secret, 'ok');
  });
});
