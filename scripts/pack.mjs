// `npm run pack`: the npm packages of the marketplace, as tarballs in packs/ (or --out <dir>):
//   @neuronetiq/marketplace-cli        the `mp` bin alone: dist/cli/mp.js (one bundled file) and cli/templates
//   @neuronetiq/marketplace-contracts  types and zod validators from generated/vendor-contracts.ts, zod bundled
//   trader-marketplace                 the server package (private; `npm pack` of the repository)
// Each is staged under <out>/stage/<name>/ from packages/<name>/package.json, with the version of
// the root package.json. `node scripts/pack.mjs cli contracts` makes only those two.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const at = (...parts) => join(root, ...parts);
const args = process.argv.slice(2);
const outIndex = args.indexOf('--out');
const out = outIndex >= 0 ? resolve(args.splice(outIndex, 2)[1]) : at('packs');
const KNOWN = ['cli', 'contracts', 'server'];
const wanted = args.length > 0 ? args : KNOWN;
for (const name of wanted) {
  if (!KNOWN.includes(name)) {
    console.error(`pack: unknown package "${name}": name one or more of ${KNOWN.join(', ')}`);
    process.exit(2);
  }
}

const rootManifest = JSON.parse(readFileSync(at('package.json'), 'utf8'));
const npm = (cwd, ...npmArgs) => execFileSync('npm', npmArgs, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

/** A fresh staging directory with packages/<name>/package.json (versioned) and README.md. */
function stage(name, extra = {}) {
  const dir = join(out, 'stage', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(at('packages', name, 'package.json'), 'utf8'));
  // npm provenance requires the repository the release workflow runs in to be named.
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repository } = process.env;
  const source = server && repository ? { repository: { type: 'git', url: `git+${server}/${repository}.git` } } : {};
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ ...manifest, version: rootManifest.version, ...source, ...extra }, null, 2)}\n`);
  cpSync(at('packages', name, 'README.md'), join(dir, 'README.md'));
  return dir;
}

/** `npm pack` of `dir` into `out`; returns the tarball's path. */
function pack(dir) {
  const [result] = JSON.parse(npm(dir, 'pack', '--json', '--pack-destination', out));
  return join(out, result.filename);
}

function stageCli() {
  const dir = stage('cli');
  mkdirSync(join(dir, 'dist', 'cli'), { recursive: true });
  cpSync(at('dist', 'cli', 'mp.js'), join(dir, 'dist', 'cli', 'mp.js'));
  // What `mp init` copies; a template someone installed or built in place keeps those out.
  cpSync(at('cli', 'templates'), join(dir, 'cli', 'templates'), {
    recursive: true,
    filter: (source) => !['node_modules', 'dist'].includes(basename(source)),
  });
  return dir;
}

async function stageContracts() {
  const zod = JSON.parse(readFileSync(at('node_modules', 'zod', 'package.json'), 'utf8'));
  const dir = stage('contracts', { dependencies: { zod: zod.version }, bundleDependencies: ['zod'] });
  const source = at('generated', 'vendor-contracts.ts');
  await build({ entryPoints: [source], outfile: join(dir, 'index.js'), format: 'cjs', platform: 'node', target: 'node20', logLevel: 'warning' });
  const declarations = join(out, 'stage', 'contracts-types');
  const tsc = at('node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(
    process.execPath,
    [
      tsc,
      source,
      '--declaration',
      '--emitDeclarationOnly',
      '--skipLibCheck',
      '--target',
      'ES2022',
      '--module',
      'node16',
      '--moduleResolution',
      'node16',
      '--outDir',
      declarations,
    ],
    { stdio: 'inherit' },
  );
  cpSync(join(declarations, 'vendor-contracts.d.ts'), join(dir, 'index.d.ts'));
  rmSync(declarations, { recursive: true, force: true });
  // zod has no dependencies of its own: one directory is all it takes.
  cpSync(at('node_modules', 'zod'), join(dir, 'node_modules', 'zod'), { recursive: true });
  return dir;
}

mkdirSync(out, { recursive: true });
execFileSync(process.execPath, [at('scripts', 'build.mjs')], { stdio: 'inherit' });
const made = [];
if (wanted.includes('cli')) made.push(pack(stageCli()));
if (wanted.includes('contracts')) made.push(pack(await stageContracts()));
if (wanted.includes('server')) made.push(pack(root));
rmSync(join(out, 'stage'), { recursive: true, force: true });
for (const file of made) console.log(file);
