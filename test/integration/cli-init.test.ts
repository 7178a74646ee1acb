import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findPackageRoot, listTemplates, packageNameFor, templatesDir } from '../../cli/commands/init';
import { CliError, ExitCode } from '../../cli/errors';
import { runMp, type CliResult } from '../helpers/cli-process';

const ROOT = path.resolve(__dirname, '..', '..');
const TEMPLATE = path.join(ROOT, 'cli', 'templates', 'runpod-signal-train');
const SERVING_TEMPLATE = path.join(ROOT, 'cli', 'templates', 'runpod-signal-http');
const TSX = require.resolve('tsx/cjs');

/** `mp` options to run it in `dir`, with a config directory of its own there. */
const inDir = (dir: string) => ({ cwd: dir, configHome: path.join(dir, '.config') });

function run(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', TSX, script], {
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Every file under `dir`, relative, sorted. */
function filesUnder(dir: string, prefix = ''): string[] {
  return fs
    .readdirSync(path.join(dir, prefix), { withFileTypes: true })
    .flatMap((entry) => {
      const relative = path.join(prefix, entry.name);
      return entry.isDirectory() ? filesUnder(dir, relative) : [relative];
    })
    .sort();
}

function assertNoStack(result: CliResult): void {
  assert.doesNotMatch(result.stderr, /\n\s+at /, `unexpected stack trace:\n${result.stderr}`);
}

/** A tiny round in the real files' shape: the target follows feature `a`. */
function writeTinyRound(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const lines = (labeled: boolean, rows: number, offset: number) => {
    const out = [`symbol,date,a,b${labeled ? ',target' : ''}`];
    for (let i = 0; i < rows; i++) {
      const a = ((i * 37 + offset) % 100) / 100;
      const b = ((i * 61 + offset) % 100) / 100;
      const target = Math.min(4, Math.floor(a * 5)) / 4;
      out.push(`S${i % 7},2021-01-${String(1 + (i % 28)).padStart(2, '0')},${a},${b}${labeled ? `,${target}` : ''}`);
    }
    return `${out.join('\n')}\n`;
  };
  fs.writeFileSync(path.join(dir, 'train.csv'), lines(true, 200, 0));
  fs.writeFileSync(path.join(dir, 'validation.csv'), lines(true, 80, 13));
  fs.writeFileSync(path.join(dir, 'live.csv'), lines(false, 10, 29));
}

describe('mp init', function () {
  this.timeout(60_000);
  let work: string;

  beforeEach(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-init-it-'));
  });
  afterEach(() => {
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('copies the runpod-signal-train template into a new directory, names the package after it, and prints the next steps', async () => {
    const result = await runMp(['init', '--template', 'runpod-signal-train', 'my-model'], inDir(work));
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    const target = path.join(work, 'my-model');

    const expected = filesUnder(TEMPLATE)
      .filter((file) => !file.split(path.sep).some((part) => ['node_modules', 'out', 'data'].includes(part)))
      .map((file) => (file === '_gitignore' ? '.gitignore' : file))
      .sort();
    assert.deepEqual(filesUnder(target), expected);
    for (const file of ['src/train.ts', 'src/data.ts', 'src/model.ts', 'src/metrics.ts', 'src/runpod-handler.ts', 'Dockerfile', 'README.md']) {
      assert.equal(fs.readFileSync(path.join(target, file), 'utf8'), fs.readFileSync(path.join(TEMPLATE, file), 'utf8'), file);
    }
    assert.equal(fs.readFileSync(path.join(target, '.gitignore'), 'utf8'), fs.readFileSync(path.join(TEMPLATE, '_gitignore'), 'utf8'));

    const pkg = JSON.parse(fs.readFileSync(path.join(target, 'package.json'), 'utf8')) as Record<string, unknown>;
    const original = JSON.parse(fs.readFileSync(path.join(TEMPLATE, 'package.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(pkg, { ...original, name: 'my-model' });
    const lock = JSON.parse(fs.readFileSync(path.join(target, 'package-lock.json'), 'utf8')) as { name: string; packages: Record<string, { name?: string }> };
    assert.equal(lock.name, 'my-model');
    assert.equal(lock.packages[''].name, 'my-model');

    assert.match(result.stdout, new RegExp(`^✓ Created my-model from template runpod-signal-train \\(${expected.length} files\\)$`, 'm'));
    assert.match(result.stdout, /Next steps:\n {2}cd my-model\n {2}npm install\n {2}mp data pull --dir \.\/data\n {2}npm start\n/);
  });

  it('copies the runpod-signal-http serving template, its generated contract included, and points at `mp dev`, never `npx mp`', async () => {
    const result = await runMp(['init', '--template', 'runpod-signal-http', 'my-endpoint'], inDir(work));
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    const target = path.join(work, 'my-endpoint');
    const expected = filesUnder(SERVING_TEMPLATE)
      .filter((file) => !file.split(path.sep).includes('node_modules'))
      .map((file) => (file === '_gitignore' ? '.gitignore' : file))
      .sort();
    assert.deepEqual(filesUnder(target), expected);
    for (const file of ['src/server.ts', 'src/http/endpoint-server.ts', 'src/contract.generated.ts', 'Dockerfile', 'README.md', 'test/endpoint.test.ts']) {
      assert.equal(fs.readFileSync(path.join(target, file), 'utf8'), fs.readFileSync(path.join(SERVING_TEMPLATE, file), 'utf8'), file);
    }
    const pkg = JSON.parse(fs.readFileSync(path.join(target, 'package.json'), 'utf8')) as { name: string; mp: { kind: string } };
    assert.equal(pkg.name, 'my-endpoint');
    assert.equal(pkg.mp.kind, 'inference');

    assert.match(result.stdout, /Next steps:\n {2}cd my-endpoint\n {2}npm install\n {2}mp dev\n/);
    assert.match(result.stdout, /my-endpoint\/README\.md explains the HTTP contract/);
    for (const output of [result.stdout, fs.readFileSync(path.join(target, 'README.md'), 'utf8')]) assert.doesNotMatch(output, /npx mp/);

    const json = await runMp(['init', '--template', 'runpod-signal-http', 'second', '--json'], inDir(work));
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual((JSON.parse(json.stdout) as { nextSteps: string[] }).nextSteps, ['cd second', 'npm install', 'mp dev']);
  });

  it('creates a project whose program trains on a pulled round as `npm start` runs it', async () => {
    const created = await runMp(['init', '--template', 'runpod-signal-train', 'model'], inDir(work));
    assert.equal(created.code, 0, created.stderr);
    const project = path.join(work, 'model');
    writeTinyRound(path.join(project, 'data'));
    // `npm start` is `tsx src/train.ts` with the defaults MP_DATA_DIR=./data and MP_OUTPUT_DIR=./out.
    const trained = await run(path.join(project, 'src', 'train.ts'), project, { MP_HPARAMS: '{"epochs": 3}' });
    assert.equal(trained.code, 0, trained.stderr);
    assert.match(trained.stdout, /^epoch 3\/3 loss=/m);
    assert.deepEqual(fs.readdirSync(path.join(project, 'out')).sort(), ['live_predictions.csv', 'metrics.json', 'model.json']);
    const metrics = JSON.parse(fs.readFileSync(path.join(project, 'out', 'metrics.json'), 'utf8')) as { val_corr: number };
    assert.ok(metrics.val_corr > 0.5, `val_corr ${metrics.val_corr}`);
  });

  it('defaults the directory to the template name and prints a JSON summary with --json', async () => {
    const result = await runMp(['init', '--template', 'runpod-signal-train', '--json'], inDir(work));
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout) as { template: string; dir: string; files: string[]; overwritten: string[]; nextSteps: string[] };
    assert.equal(summary.template, 'runpod-signal-train');
    assert.equal(summary.dir, path.join(fs.realpathSync(work), 'runpod-signal-train'));
    assert.ok(summary.files.includes('src/train.ts') && summary.files.includes('.gitignore'));
    assert.deepEqual(summary.overwritten, []);
    assert.deepEqual(summary.nextSteps, ['cd runpod-signal-train', 'npm install', 'mp data pull --dir ./data', 'npm start']);
    assert.ok(fs.existsSync(path.join(work, 'runpod-signal-train', 'src', 'train.ts')));
  });

  it('refuses a non-empty directory with exit 5 and writes nothing; --force writes the template over it and keeps other files', async () => {
    const target = path.join(work, 'busy');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'notes.txt'), 'mine');
    fs.writeFileSync(path.join(target, 'README.md'), 'my readme');

    const refused = await runMp(['init', '--template', 'runpod-signal-train', 'busy'], inDir(work));
    assert.equal(refused.code, ExitCode.INVALID);
    assert.match(refused.stderr, /^mp: busy is not empty \(2 entries\); nothing was written\n/);
    assert.match(refused.stderr, /--force/);
    assertNoStack(refused);
    assert.deepEqual(fs.readdirSync(target).sort(), ['README.md', 'notes.txt']);

    const forced = await runMp(['init', '--template', 'runpod-signal-train', 'busy', '--force'], inDir(work));
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /Overwrote 1 existing file: README\.md/);
    assert.equal(fs.readFileSync(path.join(target, 'notes.txt'), 'utf8'), 'mine');
    assert.equal(fs.readFileSync(path.join(target, 'README.md'), 'utf8'), fs.readFileSync(path.join(TEMPLATE, 'README.md'), 'utf8'));
    assert.ok(fs.existsSync(path.join(target, 'src', 'runpod-handler.ts')));
  });

  it('refuses a non-empty directory for the serving template too (exit 5), and --force writes it over the files there', async () => {
    const target = path.join(work, 'busy-endpoint');
    fs.mkdirSync(path.join(target, 'src'), { recursive: true });
    fs.writeFileSync(path.join(target, 'src', 'server.ts'), '// mine');
    fs.writeFileSync(path.join(target, 'model.json'), '{}');

    const refused = await runMp(['init', '--template', 'runpod-signal-http', 'busy-endpoint'], inDir(work));
    assert.equal(refused.code, ExitCode.INVALID);
    assert.match(refused.stderr, /^mp: busy-endpoint is not empty \(2 entries\); nothing was written\n.*--force/);
    assert.equal(fs.readFileSync(path.join(target, 'src', 'server.ts'), 'utf8'), '// mine');
    assert.ok(!fs.existsSync(path.join(target, 'package.json')));

    const forced = await runMp(['init', '--template', 'runpod-signal-http', 'busy-endpoint', '--force'], inDir(work));
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /Overwrote 1 existing file: src\/server\.ts/);
    assert.equal(fs.readFileSync(path.join(target, 'src', 'server.ts'), 'utf8'), fs.readFileSync(path.join(SERVING_TEMPLATE, 'src', 'server.ts'), 'utf8'));
    assert.equal(fs.readFileSync(path.join(target, 'model.json'), 'utf8'), '{}', 'a file the template does not have is kept');
  });

  it('writes into an existing empty directory, and refuses a path that is a file', async () => {
    fs.mkdirSync(path.join(work, 'empty'));
    const ok = await runMp(['init', '--template', 'runpod-signal-train', 'empty'], inDir(work));
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(fs.existsSync(path.join(work, 'empty', 'package.json')));

    fs.writeFileSync(path.join(work, 'plain-file'), 'x');
    const refused = await runMp(['init', '--template', 'runpod-signal-train', 'plain-file', '--force'], inDir(work));
    assert.equal(refused.code, ExitCode.INVALID);
    assert.match(refused.stderr, /^mp: plain-file exists and is not a directory\n/);
  });

  it('lists the templates with --list, as a table and as JSON', async () => {
    const table = await runMp(['init', '--list'], inDir(work));
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^TEMPLATE\s+DESCRIPTION\n/);
    assert.match(table.stdout, /^runpod-signal-train\s+Train a SIGNAL model/m);
    assert.match(table.stdout, /^runpod-signal-http\s+Serve a SIGNAL model over HTTP/m);
    assert.equal(table.stdout.trimEnd().split('\n').length, 1 + listTemplates(templatesDir()).length, 'one line per template');

    const json = await runMp(['init', '--list', '--json'], inDir(work));
    assert.equal(json.code, 0, json.stderr);
    const templates = JSON.parse(json.stdout) as { name: string; description: string }[];
    assert.ok(templates.some((template) => template.name === 'runpod-signal-train' && template.description.length > 0));
    const serving = templates.find((template) => template.name === 'runpod-signal-http');
    assert.ok(serving && !serving.description.includes('\n') && /POST \/v1\/signal/.test(serving.description), JSON.stringify(serving));
    assert.deepEqual(fs.readdirSync(work), [], '--list wrote something');
  });

  it('exits 2 without --template or with an unknown one, naming the templates there are', async () => {
    const missing = await runMp(['init', 'x'], inDir(work));
    assert.equal(missing.code, ExitCode.USAGE);
    assert.match(missing.stderr, /^mp: choose a template with --template\nTemplates: .*runpod-signal-train/);

    const unknown = await runMp(['init', '--template', 'nope', 'x'], inDir(work));
    assert.equal(unknown.code, ExitCode.USAGE);
    assert.match(unknown.stderr, /^mp: unknown template "nope"\nTemplates: .*runpod-signal-train/);
    assertNoStack(unknown);
    assert.deepEqual(fs.readdirSync(work), []);
  });

  it('finds the templates from the sources and from a compiled layout by walking up to package.json', () => {
    assert.equal(templatesDir(path.join(ROOT, 'cli', 'commands')), path.join(ROOT, 'cli', 'templates'));
    assert.ok(listTemplates(templatesDir()).some((template) => template.name === 'runpod-signal-train'));

    // An installed package: <pkg>/package.json, <pkg>/cli/templates/<name>, <pkg>/dist/cli/commands/init.js
    const pkg = path.join(work, 'node_modules', 'trader-marketplace');
    fs.mkdirSync(path.join(pkg, 'dist', 'cli', 'commands'), { recursive: true });
    fs.mkdirSync(path.join(pkg, 'cli', 'templates', 'demo'), { recursive: true });
    fs.writeFileSync(path.join(pkg, 'package.json'), '{"name":"trader-marketplace"}');
    fs.writeFileSync(path.join(pkg, 'cli', 'templates', 'demo', 'package.json'), '{"description":"a demo"}');
    const compiled = path.join(pkg, 'dist', 'cli', 'commands');
    assert.equal(findPackageRoot(compiled), pkg);
    assert.deepEqual(listTemplates(templatesDir(compiled)), [{ name: 'demo', description: 'a demo', dir: path.join(pkg, 'cli', 'templates', 'demo') }]);

    // A package published without cli/templates: a clear error, not a crash.
    fs.rmSync(path.join(pkg, 'cli'), { recursive: true });
    assert.throws(
      () => templatesDir(compiled),
      (error: unknown) => error instanceof CliError && /has no templates/.test(error.message) && /cli\/templates/.test(error.hint ?? ''),
    );
  });

  it('derives an npm package name from the directory name', () => {
    assert.equal(packageNameFor('/tmp/My Model'), 'my-model');
    assert.equal(packageNameFor('/tmp/.hidden_dir'), 'hidden_dir');
    assert.equal(packageNameFor('/tmp/___'), null);
  });
});
