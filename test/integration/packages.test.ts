import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildSchema, isInputObjectType } from 'graphql';
import { startTestServer, type TestServer } from '../helpers/server';

const exec = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** This process's environment without npm's own variables (npx mocha sets npm_config_prefix and friends). */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
  return { ...env, NO_COLOR: '1', ...extra };
}

/** The default values an input type's fields have in the SDL. */
function sdlDefaults(typeName: string): Record<string, unknown> {
  const type = buildSchema(readFileSync(path.join(ROOT, 'generated', 'schema.graphql'), 'utf8')).getType(typeName);
  assert.ok(isInputObjectType(type), `${typeName} is an input type`);
  const fields = Object.values(type.getFields()).filter((field) => field.defaultValue !== undefined);
  assert.ok(fields.length > 0, `${typeName} has defaults`);
  return Object.fromEntries(fields.map((field) => [field.name, field.defaultValue]));
}

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? filesUnder(file, base) : [path.relative(base, file)];
  });
}

describe('the npm packages (npm run pack)', function () {
  this.timeout(180_000);
  let work: string;
  let tarballs: { cli: string; contracts: string };
  let server: TestServer;

  /**
   * `npm install` of a tarball with no registry to reach: an empty cache, --offline and a
   * registry address nothing listens on, so any dependency to fetch fails the install.
   */
  async function installOffline(args: string[]): Promise<void> {
    const cache = mkdtempSync(path.join(work, 'npm-cache-'));
    await exec('npm', ['install', '--offline', '--cache', cache, '--registry', 'http://127.0.0.1:9/', '--no-audit', '--no-fund', ...args], {
      cwd: work,
      env: cleanEnv(),
    });
  }

  before(async function () {
    work = mkdtempSync(path.join(tmpdir(), 'mp-packages-'));
    const { stdout } = await exec(process.execPath, [path.join(ROOT, 'scripts', 'pack.mjs'), 'cli', 'contracts', '--out', path.join(work, 'packs')], {
      cwd: ROOT,
      env: cleanEnv(),
    });
    const made = stdout.trim().split('\n').slice(-2);
    tarballs = { cli: made[0], contracts: made[1] };
    assert.match(path.basename(tarballs.cli), new RegExp(`^neuronetiq-marketplace-cli-${VERSION.replace(/\./g, '\\.')}\\.tgz$`));
    assert.match(path.basename(tarballs.contracts), new RegExp(`^neuronetiq-marketplace-contracts-${VERSION.replace(/\./g, '\\.')}\\.tgz$`));
    server = await startTestServer();
  });

  after(async function () {
    await server?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe('@neuronetiq/marketplace-cli', function () {
    let prefix: string;
    let mp: string;
    let configHome: string;

    before(async function () {
      prefix = path.join(work, 'cli-prefix');
      configHome = mkdtempSync(path.join(work, 'config-'));
      mkdirSync(prefix);
      await installOffline(['--global', '--prefix', prefix, tarballs.cli]);
      mp = path.join(prefix, 'bin', 'mp');
    });

    it('installs into an empty prefix without a registry: the mp bin and its templates, no dependencies and no server', function () {
      const installed = path.join(prefix, 'lib', 'node_modules', '@neuronetiq', 'marketplace-cli');
      const manifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as Record<string, unknown>;
      assert.equal(manifest.dependencies, undefined);
      assert.deepEqual(manifest.bin, { mp: 'dist/cli/mp.js' });
      const files = filesUnder(installed);
      assert.ok(files.includes(path.join('dist', 'cli', 'mp.js')));
      assert.ok(files.some((file) => file.startsWith(path.join('cli', 'templates', 'runpod-signal-http'))));
      assert.deepEqual(
        files.filter(
          (file) => !file.startsWith(path.join('cli', 'templates')) && !['package.json', 'README.md', path.join('dist', 'cli', 'mp.js')].includes(file),
        ),
        [],
      );
      assert.equal(existsSync(path.join(installed, 'node_modules')), false);
    });

    it('answers mp --version with the package version', async function () {
      const { stdout } = await exec(mp, ['--version'], { env: cleanEnv({ XDG_CONFIG_HOME: configHome }) });
      assert.equal(stdout.trim(), VERSION);
    });

    it("lists a test server's catalog with mp catalog list", async function () {
      const env = cleanEnv({ XDG_CONFIG_HOME: configHome, MP_API_URL: server.graphqlUrl });
      const table = await exec(mp, ['catalog', 'list'], { env });
      assert.match(table.stdout, /^SLUG\s+NAME\s+TASK\s+VENDOR\s+TAGS\s+SCORE\s+PUBLISHED\n/);

      const listed = (JSON.parse((await exec(mp, ['catalog', 'list', '--json'], { env })).stdout) as { slug: string }[]).map((model) => model.slug);
      const response = await server.graphql<{ catalog: { nodes: { slug: string }[] } }>('{ catalog(first: 100) { nodes { slug } } }');
      const published = response.data!.catalog.nodes.map((node) => node.slug);
      assert.ok(listed.length > 0, 'the seeded demo models are listed');
      assert.deepEqual(listed, published.slice(0, listed.length));
    });

    it('creates a project with mp init whose next steps and files never say npx mp', async function () {
      const project = path.join(work, 'my-endpoint');
      const result = await exec(mp, ['init', '--template', 'runpod-signal-http', project], { env: cleanEnv({ XDG_CONFIG_HOME: configHome }) });
      const said = `${result.stdout}${result.stderr}`;
      assert.match(said, /Next steps:[\s\S]*\bmp dev\b/);
      assert.doesNotMatch(said, /npx mp\b/);
      assert.ok(existsSync(path.join(project, 'package.json')));
      const installed = path.join(prefix, 'lib', 'node_modules', '@neuronetiq', 'marketplace-cli', 'cli', 'templates');
      for (const dir of [project, installed]) {
        const saying = filesUnder(dir).filter((file) => /npx mp\b/.test(readFileSync(path.join(dir, file), 'utf8')));
        assert.deepEqual(saying, [], `files under ${dir} say npx mp`);
      }
    });
  });

  describe('@neuronetiq/marketplace-contracts', function () {
    let project: string;

    before(async function () {
      project = path.join(work, 'vendor-code');
      mkdirSync(project);
      writeFileSync(path.join(project, 'package.json'), '{ "name": "vendor-code", "private": true }\n');
      await exec(
        'npm',
        [
          'install',
          '--offline',
          '--cache',
          mkdtempSync(path.join(work, 'npm-cache-')),
          '--registry',
          'http://127.0.0.1:9/',
          '--no-audit',
          '--no-fund',
          tarballs.contracts,
        ],
        {
          cwd: project,
          env: cleanEnv(),
        },
      );
    });

    it('installs without a registry, with zod bundled as its only dependency', function () {
      const installed = path.join(project, 'node_modules', '@neuronetiq', 'marketplace-contracts');
      const manifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
      assert.deepEqual(Object.keys(manifest.dependencies), ['zod']);
      assert.ok(existsSync(path.join(installed, 'node_modules', 'zod', 'package.json')), 'zod is bundled');
    });

    it('types and validates good and bad objects in a vendor TypeScript file compiled with tsc', async function () {
      writeFileSync(
        path.join(project, 'check.ts'),
        `import {
  CatalogModelStatusSchema,
  HeartbeatInputSchema,
  SignalInferenceRequestSchema,
  TrainingSpecInputSchema,
  type HeartbeatInput,
  type SignalInferenceResponse,
  type TrainingRunStatus,
} from '@neuronetiq/marketplace-contracts';

const heartbeat: HeartbeatInput = { status: 'READY', latencyMs: 12.5, version: 'v1' };
const answer: SignalInferenceResponse = { score: 0.61, confidence: 0.4, modelVersion: 'sha256:1f2e', latencyMs: 3.2 };
const status: TrainingRunStatus = 'SUCCEEDED';
const issues = (result: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }) =>
  result.success ? [] : result.error!.issues.map((issue) => issue.path.join('.'));
const spec = TrainingSpecInputSchema.safeParse({ task: 'SIGNAL' });
console.log(JSON.stringify({
  goodHeartbeat: HeartbeatInputSchema.safeParse(heartbeat).success,
  badHeartbeat: issues(HeartbeatInputSchema.safeParse({ status: 'ASLEEP', latencyMs: -1 })),
  goodRequest: SignalInferenceRequestSchema.safeParse({ symbol: 'AAPL', asOf: '2026-11-30T00:00:00Z', horizonDays: 5 }).success,
  badRequest: issues(SignalInferenceRequestSchema.safeParse({ symbol: '', asOf: 'yesterday', horizonDays: 0 })),
  spec: spec.success ? spec.data : null,
  statuses: CatalogModelStatusSchema.safeParse('PUBLISHED').success,
  answer: answer.score,
  status,
}));
`,
      );
      writeFileSync(
        path.join(project, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            target: 'ES2022',
            module: 'node16',
            moduleResolution: 'node16',
            skipLibCheck: true,
            types: ['node'],
            typeRoots: [path.join(ROOT, 'node_modules', '@types')],
          },
          files: ['check.ts'],
        }),
      );
      await exec(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: project });

      // A type error is caught at compile time as well: a status the schema does not have.
      writeFileSync(
        path.join(project, 'wrong.ts'),
        `import type { TrainingRunStatus } from '@neuronetiq/marketplace-contracts';\nexport const status: TrainingRunStatus = 'ASLEEP';\n`,
      );
      const wrong = await exec(
        process.execPath,
        [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict', '--module', 'node16', '--skipLibCheck', 'wrong.ts'],
        { cwd: project },
      ).then(
        () => null,
        (error: { stdout: string }) => error.stdout,
      );
      assert.match(wrong ?? 'compiled', /error TS2322: Type '"ASLEEP"' is not assignable to type 'TrainingRunStatus'/);

      const { stdout } = await exec(process.execPath, ['check.js'], { cwd: project });
      const result = JSON.parse(stdout) as Record<string, unknown>;
      assert.equal(result.goodHeartbeat, true);
      assert.deepEqual(result.badHeartbeat, ['latencyMs', 'status']);
      assert.equal(result.goodRequest, true);
      assert.deepEqual(result.badRequest, ['asOf', 'horizonDays', 'symbol']);
      assert.deepEqual(result.spec, { ...sdlDefaults('TrainingSpecInput'), task: 'SIGNAL' }, 'the SDL defaults are filled in');
      assert.equal(result.statuses, true);
      assert.equal(result.status, 'SUCCEEDED');
    });
  });
});
