import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalProvider } from '../../server/providers/local';
import { LineSplitter } from '../../server/providers/local/lines';
import type { GpuType, JobEvents, TrainingFile, TrainingJob } from '../../server/providers/provider';

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

interface Recorded {
  events: JobEvents;
  calls: string[];
  logs: { stream: 'stdout' | 'stderr' | 'system'; line: string }[];
  metrics: { name: string; step: number; value: number }[];
  lines(stream: 'stdout' | 'stderr' | 'system'): string[];
  /** Resolves when a line matching `pattern` was logged on any stream. */
  waitFor(pattern: RegExp): Promise<string>;
}

function recorder(): Recorded {
  const calls: string[] = [];
  const logs: Recorded['logs'] = [];
  const metrics: Recorded['metrics'] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  return {
    calls,
    logs,
    metrics,
    lines: (stream) => logs.filter((l) => l.stream === stream).map((l) => l.line),
    waitFor(pattern) {
      const seen = logs.find((l) => pattern.test(l.line));
      if (seen) return Promise.resolve(seen.line);
      return new Promise((resolve) => waiters.push({ pattern, resolve }));
    },
    events: {
      async submitted(id) {
        calls.push(`submitted ${id}`);
      },
      running() {
        calls.push('running');
      },
      log(stream, line) {
        logs.push({ stream, line });
        for (const w of waiters.filter((w) => w.pattern.test(line))) w.resolve(line);
      },
      metric(name, step, value) {
        metrics.push({ name, step, value });
      },
    },
  };
}

/** Is the process gone? A zombie nobody reaps (PID 1 in a container may not) counts as gone. */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

async function eventuallyGone(pid: number): Promise<boolean> {
  for (let i = 0; i < 40; i++) {
    if (isGone(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

const CPU: GpuType = { id: 'CPU', providerGpuId: 'cpu', displayName: 'Local CPU', memoryGb: 8, pricePerHourUsd: '0.00', provider: 'LOCAL' };

describe('LocalProvider', function () {
  let root: string;
  let workRoot: string;
  let server: http.Server;
  let baseUrl: string;
  /** What the stand-in file route serves, by name; `stall` sends headers and never the body. */
  const served = new Map<string, Buffer | 'stall'>();
  const pids: number[] = [];

  before(async function () {
    server = http.createServer((req, res) => {
      const name = decodeURIComponent((req.url ?? '/').slice('/files/'.length).split('?')[0] ?? '');
      const body = served.get(name);
      if (body === undefined) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('no such file\n');
      } else if (body === 'stall') {
        res.writeHead(200, { 'content-length': '1000' });
        res.write('x');
      } else {
        res.writeHead(200, { 'content-length': String(body.length), 'content-type': 'application/octet-stream' }).end(body);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async function () {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(async function () {
    root = await mkdtemp(join(tmpdir(), 'mp-local-provider-'));
    workRoot = join(root, 'runs');
    served.clear();
    pids.length = 0;
  });

  afterEach(async function () {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await rm(root, { recursive: true, force: true });
  });

  /** A template directory with the given files; package.json defaults to `{"main":"train.js"}`. */
  async function template(files: Record<string, string>): Promise<string> {
    const dir = await mkdtemp(join(root, 'template-'));
    const all = { 'package.json': JSON.stringify({ name: 'tiny-train', main: 'train.js' }), ...files };
    for (const [name, content] of Object.entries(all)) {
      await mkdir(join(dir, name, '..'), { recursive: true });
      await writeFile(join(dir, name), content);
    }
    return dir;
  }

  function serve(name: string, content: Buffer | string, overrides: Partial<TrainingFile> = {}): TrainingFile {
    const bytes = Buffer.from(content);
    served.set(name, bytes);
    return { name, kind: 'TRAIN', sha256: sha256(bytes), sizeBytes: bytes.length, url: `${baseUrl}/files/${encodeURIComponent(name)}?sig=abc`, ...overrides };
  }

  function job(templateDir: string, overrides: Partial<TrainingJob> = {}): TrainingJob {
    return {
      runId: 'run-1',
      task: 'SIGNAL',
      roundNumber: 7,
      files: [],
      hyperparameters: {},
      gpuType: CPU,
      timeoutSeconds: 600,
      templateDir,
      ...overrides,
    };
  }

  function pidOf(rec: Recorded): number {
    const id = rec.calls.find((c) => c.startsWith('submitted '))?.slice('submitted local-'.length);
    assert.ok(id, 'submitted was called');
    return Number(id);
  }

  it('offers the local CPU only, with its memory, at the configured price (default 0): no GPU is simulated', async function () {
    const gpus = await new LocalProvider({ workRoot }).gpuTypes();
    assert.deepEqual(
      gpus.map((gpu) => gpu.id),
      ['CPU'],
    );
    const [cpu] = gpus;
    assert.ok(cpu.provider === 'LOCAL' && cpu.pricePerHourUsd === '0' && /CPU/.test(cpu.displayName));
    assert.ok(cpu.memoryGb > 0);
    const priced = await new LocalProvider({ workRoot, cpuPricePerHourUsd: '0.25' }).gpuTypes();
    assert.equal(priced[0].pricePerHourUsd, '0.25');
    const custom = await new LocalProvider({ workRoot, gpuTypes: [CPU] }).gpuTypes();
    assert.deepEqual(custom, [CPU]);
  });

  describe('a successful run', function () {
    const saved: Record<string, string | undefined> = {};
    const secrets = {
      DATABASE_URL: 'postgres://user:hunter2@db/mp',
      MP_SIGNING_SECRET: 'signing-secret-xyz',
      RUNPOD_API_KEY: 'rp_secret',
      NODE_OPTIONS: '--max-old-space-size=64',
    };

    before(function () {
      for (const [k, v] of Object.entries(secrets)) {
        saved[k] = process.env[k];
        process.env[k] = v;
      }
    });

    after(function () {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });

    it('downloads and verifies the round files, gives the program only its own environment, and turns its output into logs, metrics and artifacts', async function () {
      const train = 'date,feature,target\n2024-01-02,0.5,0.1\n2024-01-03,0.7,-0.2\n';
      const validation = Buffer.alloc(300_000, 'v');
      const dir = await template({
        'train.js': `
          const fs = require('fs'), path = require('path'), crypto = require('crypto');
          const out = process.env.MP_OUTPUT_DIR, data = process.env.MP_DATA_DIR;
          const hp = JSON.parse(process.env.MP_HPARAMS);
          const files = fs.readdirSync(data).sort().map((name) => ({ name, sha256: crypto.createHash('sha256').update(fs.readFileSync(path.join(data, name))).digest('hex') }));
          fs.writeFileSync(path.join(out, 'env.json'), JSON.stringify({ env: process.env, hp, files, cwd: process.cwd() }));
          fs.mkdirSync(path.join(out, 'models', 'v1'), { recursive: true });
          fs.writeFileSync(path.join(out, 'models', 'v1', 'model.bin'), Buffer.from([0, 1, 2, 255]));
          fs.symlinkSync('/etc/passwd', path.join(out, 'passwd-link'));
          console.log('epoch 1 of ' + hp.epochs);
          console.error('warning: small dataset');
          console.log(JSON.stringify({ mp: 'metric', name: 'loss', step: 1, value: 0.41 }));
          console.log('{"mp":"metric","name":"val/corr","step":2,"value":0.07}');
          console.log('{"mp":"metric","name":"bad name!","step":2,"value":1}');
          console.error('done with stderr');
          console.log('done');
        `,
      });
      const provider = new LocalProvider({ workRoot });
      const rec = recorder();
      const result = await provider.run(
        job(dir, {
          files: [serve('train.csv', train), serve('validation.csv', validation, { kind: 'VALIDATION' })],
          hyperparameters: { lr: 0.001, epochs: 20, model: 'ridge', normalize: true },
        }),
        rec.events,
        new AbortController().signal,
      );

      assert.equal(result.status, 'SUCCEEDED', result.failureReason ?? '');
      assert.equal(result.exitCode, 0);
      assert.equal(result.failureReason, null);
      assert.ok((result.executionSeconds ?? 0) > 0);
      assert.match(rec.calls[0] ?? '', /^submitted local-\d+$/);
      assert.equal(rec.calls[1], 'running');

      const workDir = join(workRoot, 'run-1');
      const seen = JSON.parse(await readFile(join(workDir, 'output', 'env.json'), 'utf8')) as {
        env: Record<string, string>;
        hp: unknown;
        files: { name: string; sha256: string }[];
        cwd: string;
      };
      assert.deepEqual(Object.keys(seen.env).sort(), [
        'HOME',
        'LANG',
        'MP_DATA_DIR',
        'MP_GPU_TYPE',
        'MP_HPARAMS',
        'MP_OUTPUT_DIR',
        'MP_ROUND',
        'MP_RUN_ID',
        'MP_TASK',
        'PATH',
      ]);
      for (const secret of Object.values(secrets)) assert.ok(!JSON.stringify(seen.env).includes(secret));
      assert.deepEqual(seen.hp, { lr: 0.001, epochs: 20, model: 'ridge', normalize: true });
      assert.equal(seen.env.MP_RUN_ID, 'run-1');
      assert.equal(seen.env.MP_TASK, 'SIGNAL');
      assert.equal(seen.env.MP_ROUND, '7');
      assert.equal(seen.env.MP_GPU_TYPE, 'CPU');
      assert.equal(seen.env.HOME, workDir);
      assert.equal(seen.cwd, workDir);
      assert.equal(seen.env.MP_DATA_DIR, join(workDir, 'data'));
      assert.equal(seen.env.MP_OUTPUT_DIR, join(workDir, 'output'));
      assert.deepEqual(seen.files, [
        { name: 'train.csv', sha256: sha256(train) },
        { name: 'validation.csv', sha256: sha256(validation) },
      ]);

      assert.deepEqual(rec.lines('system').slice(0, 2), [
        `downloaded train.csv (${Buffer.byteLength(train)} B, sha256 verified)`,
        'downloaded validation.csv (293 KB, sha256 verified)',
      ]);
      assert.deepEqual(rec.lines('stdout'), [
        'epoch 1 of 20',
        '{"mp":"metric","name":"loss","step":1,"value":0.41}',
        '{"mp":"metric","name":"val/corr","step":2,"value":0.07}',
        '{"mp":"metric","name":"bad name!","step":2,"value":1}',
        'done',
      ]);
      assert.deepEqual(rec.lines('stderr'), ['warning: small dataset', 'done with stderr']);
      assert.deepEqual(rec.metrics, [
        { name: 'loss', step: 1, value: 0.41 },
        { name: 'val/corr', step: 2, value: 0.07 },
      ]);

      const envJson = await readFile(join(workDir, 'output', 'env.json'));
      assert.deepEqual(result.artifacts, [
        { name: 'env.json', localPath: join(workDir, 'output', 'env.json'), sizeBytes: envJson.length, sha256: sha256(envJson) },
        {
          name: 'models/v1/model.bin',
          localPath: join(workDir, 'output', 'models', 'v1', 'model.bin'),
          sizeBytes: 4,
          sha256: sha256(Buffer.from([0, 1, 2, 255])),
        },
      ]);

      assert.equal(existsSync(join(workDir, 'data')), false, 'data/ is removed after the run');
      assert.equal(existsSync(join(workDir, 'output')), true, 'output/ stays until the worker moved the artifacts');
      await provider.cleanup('run-1');
      assert.equal(existsSync(workDir), false);
    });
  });

  it('runs a TypeScript entry named in scripts.train through tsx, and prefers a compiled dist/train.js', async function () {
    const dir = await template({
      'package.json': JSON.stringify({ name: 'ts-train', scripts: { train: 'tsx src/train.ts --fast' } }),
      'src/train.ts': `
        interface Hp { lr: number }
        const hp: Hp = JSON.parse(process.env.MP_HPARAMS ?? '{}') as Hp;
        const step: number = 3;
        console.log(JSON.stringify({ mp: 'metric', name: 'lr', step, value: hp.lr }));
      `,
    });
    const provider = new LocalProvider({ workRoot });
    const rec = recorder();
    const result = await provider.run(job(dir, { hyperparameters: { lr: 0.5 } }), rec.events, new AbortController().signal);
    assert.equal(result.status, 'SUCCEEDED', result.failureReason ?? '');
    assert.deepEqual(rec.metrics, [{ name: 'lr', step: 3, value: 0.5 }]);
    assert.ok(rec.lines('system').some((l) => /^started node --require tsx\/cjs src\/train\.ts \(pid \d+\)$/.test(l)));

    await mkdir(join(dir, 'dist'));
    await writeFile(join(dir, 'dist', 'train.js'), `console.log('compiled')`);
    const rec2 = recorder();
    const compiled = await provider.run(job(dir, { runId: 'run-2' }), rec2.events, new AbortController().signal);
    assert.equal(compiled.status, 'SUCCEEDED');
    assert.deepEqual(rec2.lines('stdout'), ['compiled']);
  });

  it('fails a program that exits with code 3, quoting its last stderr lines, and keeps what it wrote', async function () {
    const dir = await template({
      'train.js': `
        require('fs').writeFileSync(process.env.MP_OUTPUT_DIR + '/partial.txt', 'half');
        console.error('loading data');
        console.error('Error: column "target" not found');
        process.exit(3);
      `,
    });
    const result = await new LocalProvider({ workRoot }).run(job(dir), recorder().events, new AbortController().signal);
    assert.equal(result.status, 'FAILED');
    assert.equal(result.exitCode, 3);
    assert.equal(result.failureReason, 'exited with code 3; last stderr: loading data | Error: column "target" not found');
    assert.deepEqual(
      result.artifacts.map((a) => a.name),
      ['partial.txt'],
    );
  });

  it('keeps every line of a program that ends before the worker has recorded its start', async function () {
    // The worker's bookkeeping (on a busy PostgreSQL) can outlast a short program: when its
    // supervisor exits, Node resumes the paused pipes and drops what nobody reads yet.
    const dir = await template({
      'train.js': `for (let i = 0; i < 5; i++) console.log('{"mp":"metric","name":"loss","step":' + i + ',"value":' + (1 - i / 10) + '}'); console.error('done'); process.exitCode = 1;`,
    });
    const recorded = recorder();
    const slow = {
      ...recorded.events,
      submitted: (id: string) => new Promise<void>((resolve) => setTimeout(() => (recorded.calls.push(`submitted ${id}`), resolve()), 1500)),
    };
    const result = await new LocalProvider({ workRoot }).run(job(dir), slow, new AbortController().signal);
    assert.equal(result.status, 'FAILED');
    assert.equal(recorded.metrics.length, 5, JSON.stringify(recorded.logs));
    assert.deepEqual(recorded.lines('stderr'), ['done']);
    const order = recorded.logs.map((entry) => entry.stream);
    assert.ok(order.indexOf('stdout') > order.indexOf('system'), 'the program\'s lines come after the "started" line');
  });

  it('caps the failure reason at 500 characters, keeping the newest stderr', async function () {
    const dir = await template({ 'train.js': `for (let i = 0; i < 10; i++) console.error(String(i).repeat(300)); process.exit(1)` });
    const result = await new LocalProvider({ workRoot }).run(job(dir), recorder().events, new AbortController().signal);
    assert.equal(result.status, 'FAILED');
    assert.ok(result.failureReason!.length <= 500);
    assert.match(result.failureReason!, /^exited with code 1; last stderr: …/);
    assert.ok(result.failureReason!.endsWith('9'.repeat(300)));
  });

  it('survives binary garbage on stdout and logs it as sanitized UTF-8 without control characters', async function () {
    const dir = await template({
      'train.js': `
        const garbage = Buffer.from([0x00, 0x01, 0x41, 0xff, 0xfe, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 0x42, 0x09, 0x43, 0xc3, 0x28, 0x7f, 0x0d, 0x0a]);
        process.stdout.write(garbage);
        process.stdout.write(require('crypto').randomBytes(100000));
        process.stdout.write('\\nwindows line\\r\\nprogress 10%\\rprogress 20%\\n');
        process.stdout.write(Buffer.from('caf\\u00e9 \\u{1F600} ok\\n', 'utf8'));
        console.log('still alive');
      `,
    });
    const rec = recorder();
    const result = await new LocalProvider({ workRoot }).run(job(dir), rec.events, new AbortController().signal);
    assert.equal(result.status, 'SUCCEEDED', result.failureReason ?? '');
    const out = rec.lines('stdout');
    assert.equal(out[0], 'A\uFFFD\uFFFD[31mB\tC\uFFFD(');
    for (const line of out) {
      // eslint-disable-next-line no-control-regex -- looking for control characters
      assert.doesNotMatch(line, /[\u0000-\u0008\u000A-\u001F\u007F]/);
      assert.equal(Buffer.from(line, 'utf8').toString('utf8'), line, 'well-formed UTF-16');
    }
    assert.deepEqual(out.slice(-4), ['windows line', 'progress 10%progress 20%', 'café 😀 ok', 'still alive']);
  });

  it('cuts a 1 MB line at maxLineBytes with a marker and still delivers the lines after it', async function () {
    const dir = await template({
      'train.js': `
        console.log('before');
        const chunk = 'x'.repeat(64 * 1024);
        for (let i = 0; i < 16; i++) process.stdout.write(chunk);
        process.stdout.write('\\n');
        console.log('after');
        console.log(JSON.stringify({ mp: 'metric', name: 'loss', step: 1, value: 0.5 }));
      `,
    });
    const rec = recorder();
    const result = await new LocalProvider({ workRoot }).run(job(dir), rec.events, new AbortController().signal);
    assert.equal(result.status, 'SUCCEEDED', result.failureReason ?? '');
    const out = rec.lines('stdout');
    assert.equal(out.length, 4);
    assert.equal(out[0], 'before');
    assert.equal(out[1], 'x'.repeat(65536) + ' … [line truncated at 65536 bytes]');
    assert.equal(out[2], 'after');
    assert.deepEqual(rec.metrics, [{ name: 'loss', step: 1, value: 0.5 }]);
  });

  it('SIGKILLs a program that ignores SIGTERM after the grace period, resolves ABORTED and still collects its artifacts', async function () {
    const dir = await template({
      'train.js': `
        process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
        require('fs').writeFileSync(process.env.MP_OUTPUT_DIR + '/checkpoint.bin', 'ckpt');
        console.log('ready');
        setInterval(() => {}, 1000);
      `,
    });
    const rec = recorder();
    const controller = new AbortController();
    const running = new LocalProvider({ workRoot, killGraceMs: 300 }).run(job(dir), rec.events, controller.signal);
    await rec.waitFor(/^ready$/);
    controller.abort('CANCELLED');
    const result = await running;
    assert.equal(result.status, 'ABORTED');
    assert.equal(result.exitCode, null);
    assert.equal(result.failureReason, 'aborted (CANCELLED): killed by SIGKILL after ignoring SIGTERM for 300 ms');
    assert.ok(rec.lines('stdout').includes('ignoring SIGTERM'));
    assert.deepEqual(
      result.artifacts.map((a) => [a.name, a.sha256]),
      [['checkpoint.bin', sha256('ckpt')]],
    );
    assert.ok(isGone(pidOf(rec)));
  });

  it('stops a program that never ends when aborted, and with it the grandchild it started (the whole process group)', async function () {
    const dir = await template({
      'train.js': `
        const { spawn } = require('child_process');
        const grandchild = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"], { stdio: ['ignore', 'inherit', 'inherit'] });
        console.log('grandchild ' + grandchild.pid);
        setInterval(() => {}, 1000);
      `,
    });
    const rec = recorder();
    const controller = new AbortController();
    const running = new LocalProvider({ workRoot, killGraceMs: 300 }).run(job(dir), rec.events, controller.signal);
    const grandchild = Number((await rec.waitFor(/^grandchild \d+$/)).split(' ')[1]);
    pids.push(grandchild);
    const child = pidOf(rec);
    assert.ok(!isGone(grandchild));
    controller.abort('TIMED_OUT');
    const result = await running;
    assert.equal(result.status, 'ABORTED');
    assert.match(result.failureReason ?? '', /^aborted \(TIMED_OUT\): killed by signal SIGTERM$/);
    assert.ok(await eventuallyGone(child), 'the child is gone');
    assert.ok(await eventuallyGone(grandchild), 'the grandchild is gone');
  });

  it('fails on a checksum mismatch without starting the program', async function () {
    const dir = await template({ 'train.js': `require('fs').writeFileSync(process.env.MP_OUTPUT_DIR + '/ran', 'yes')` });
    const rec = recorder();
    const file = serve('train.csv', 'a,b\n1,2\n', { sha256: sha256('something else') });
    const result = await new LocalProvider({ workRoot }).run(job(dir, { files: [file] }), rec.events, new AbortController().signal);
    assert.equal(result.status, 'FAILED');
    assert.match(result.failureReason ?? '', /^download of train\.csv failed verification: sha256 mismatch \(expected [0-9a-f]{64}, got [0-9a-f]{64}\)$/);
    assert.deepEqual(rec.calls, [], 'never submitted');
    assert.deepEqual(result.artifacts, []);
    assert.equal(existsSync(join(workRoot, 'run-1', 'output', 'ran')), false);
    assert.equal(existsSync(join(workRoot, 'run-1', 'data')), false);
  });

  it('fails on a size mismatch, an HTTP error, or a file name that is a path, without starting the program', async function () {
    const dir = await template({ 'train.js': `console.log('ran')` });
    const provider = new LocalProvider({ workRoot });
    const cases: [TrainingFile, RegExp][] = [
      [serve('train.csv', 'a,b\n1,2\n', { sizeBytes: 4 }), /^download of train\.csv failed verification: more than the announced 4 bytes$/],
      [serve('short.csv', 'a,b\n', { sizeBytes: 100 }), /^download of short\.csv failed verification: size mismatch \(expected 100 bytes, got 4\)$/],
      [{ ...serve('gone.csv', 'x'), url: `${baseUrl}/files/nothing-here` }, /^download of gone\.csv failed: HTTP 404/],
      [serve('../escape.csv', 'x'), /not a plain, unique file name/],
    ];
    for (const [file, reason] of cases) {
      const rec = recorder();
      const result = await provider.run(job(dir, { files: [file] }), rec.events, new AbortController().signal);
      assert.equal(result.status, 'FAILED');
      assert.match(result.failureReason ?? '', reason);
      assert.deepEqual(rec.calls, []);
      assert.deepEqual(rec.lines('stdout'), []);
    }
    assert.equal(existsSync(join(root, 'escape.csv')), false);
  });

  it('resolves ABORTED without starting the program when aborted during a download', async function () {
    const dir = await template({ 'train.js': `console.log('ran')` });
    served.set('slow.csv', 'stall');
    const rec = recorder();
    const controller = new AbortController();
    const file: TrainingFile = { name: 'slow.csv', kind: 'TRAIN', sha256: sha256('x'), sizeBytes: 1000, url: `${baseUrl}/files/slow.csv` };
    const running = new LocalProvider({ workRoot }).run(job(dir, { files: [file] }), rec.events, controller.signal);
    setTimeout(() => controller.abort('SHUTDOWN'), 200);
    const result = await running;
    assert.equal(result.status, 'ABORTED');
    assert.equal(result.failureReason, 'aborted (SHUTDOWN) before the training program started');
    assert.deepEqual(rec.calls, []);
    assert.equal(existsSync(join(workRoot, 'run-1', 'data')), false);

    const already = new AbortController();
    already.abort('CANCELLED');
    assert.equal((await new LocalProvider({ workRoot }).run(job(dir), rec.events, already.signal)).status, 'ABORTED');
    assert.deepEqual(rec.calls, []);
  });

  it('kills a program that keeps writing past maxOutputBytes and fails the run without its artifacts', async function () {
    const dir = await template({
      'train.js': `
        const fs = require('fs');
        const block = Buffer.alloc(256 * 1024, 7);
        let i = 0;
        console.log('writing');
        setInterval(() => fs.writeFileSync(process.env.MP_OUTPUT_DIR + '/junk-' + (i++) + '.bin', block), 50);
      `,
    });
    const rec = recorder();
    const result = await new LocalProvider({ workRoot, maxOutputBytes: 1024 * 1024 }).run(job(dir), rec.events, new AbortController().signal);
    assert.equal(result.status, 'FAILED');
    assert.equal(result.failureReason, 'the training program wrote more than 1 MiB to MP_OUTPUT_DIR');
    assert.deepEqual(result.artifacts, []);
    assert.ok(isGone(pidOf(rec)));
  });

  it('fails a program that wrote too much and exited before the periodic check', async function () {
    const dir = await template({ 'train.js': `require('fs').writeFileSync(process.env.MP_OUTPUT_DIR + '/big.bin', Buffer.alloc(2 * 1024 * 1024))` });
    const result = await new LocalProvider({ workRoot, maxOutputBytes: 1024 * 1024 }).run(job(dir), recorder().events, new AbortController().signal);
    assert.equal(result.status, 'FAILED');
    assert.equal(result.exitCode, 0);
    assert.equal(result.failureReason, 'the training program wrote more than 1 MiB to MP_OUTPUT_DIR');
  });

  it('fails clearly when the template names no entry, or one outside the template', async function () {
    const provider = new LocalProvider({ workRoot });
    const none = await template({ 'package.json': JSON.stringify({ name: 'x', scripts: { test: 'mocha' } }) });
    const outside = await template({ 'package.json': JSON.stringify({ name: 'x', main: '../../etc/evil.js' }) });
    const missing = await template({ 'package.json': JSON.stringify({ name: 'x', scripts: { train: 'tsx src/nope.ts' } }) });
    for (const [dir, reason] of [
      [none, /names no training entry/],
      [outside, /lies outside the template/],
      [missing, /src\/nope\.ts does not exist/],
    ] as const) {
      const rec = recorder();
      const result = await provider.run(job(dir), rec.events, new AbortController().signal);
      assert.equal(result.status, 'FAILED');
      assert.match(result.failureReason ?? '', reason);
      assert.deepEqual(rec.calls, []);
    }
  });

  it('rejects a run id that is not a plain directory name, so cleanup cannot remove anything else', async function () {
    const provider = new LocalProvider({ workRoot });
    await assert.rejects(provider.cleanup('../..'), RangeError);
    await assert.rejects(provider.cleanup(''), RangeError);
    await assert.rejects(provider.run(job(root, { runId: '../x' }), recorder().events, new AbortController().signal), RangeError);
    assert.ok(existsSync(root));
  });
});

describe('LineSplitter', function () {
  function split(chunks: Buffer[], max: number): string[] {
    const lines: string[] = [];
    const splitter = new LineSplitter(max, (line) => lines.push(line));
    for (const chunk of chunks) splitter.push(chunk);
    splitter.end();
    return lines;
  }

  it('gives the same lines whether the bytes arrive at once or one by one', function () {
    const text = Buffer.from('one\r\ntwo\n\nthree é\nfour without newline', 'utf8');
    const expected = ['one', 'two', '', 'three é', 'four without newline'];
    assert.deepEqual(split([text], 100), expected);
    assert.deepEqual(
      split(
        [...text].map((b) => Buffer.from([b])),
        100,
      ),
      expected,
    );
  });

  it('cuts a long line at a character boundary and drops the rest of it, chunk size notwithstanding', function () {
    const line = Buffer.from('ab€€€€', 'utf8'); // 2 + 4 x 3 bytes
    const input = Buffer.concat([line, Buffer.from('\nnext\n')]);
    const expected = ['ab€ … [line truncated at 6 bytes]', 'next'];
    assert.deepEqual(split([input], 6), expected);
    assert.deepEqual(
      split(
        [...input].map((b) => Buffer.from([b])),
        6,
      ),
      expected,
    );
  });

  it('keeps a line of exactly maxLineBytes whole, with or without a carriage return', function () {
    assert.deepEqual(split([Buffer.from('abcd\nefgh\r\nijklm\n')], 4), ['abcd', 'efgh', 'ijkl … [line truncated at 4 bytes]']);
  });
});
