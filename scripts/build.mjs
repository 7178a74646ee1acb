// `npm run build`, and the first step of `npm start`: dist/ from the sources, doing only what
// changed, and silent when nothing did. TypeScript is transpiled file by file (build/transpile.mjs),
// the `mp` bundle is made again only when the compiled CLI or the dependencies changed, and the
// GraphiQL and web console bundles only when their sources, build scripts or the dependencies changed.
import { spawnSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mtimeOf, newestMtime } from './build/newest.mjs';
import { transpile } from './build/transpile.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const at = (...parts) => join(root, ...parts);
const started = performance.now();
const done = [];

const cliBin = at('dist', 'cli', 'mp.js');
const newest = (paths, skip) => Math.max(...paths.map((path) => newestMtime(path, skip)));
const packageLock = at('package-lock.json');

async function buildWhatChanged() {
  const { written, removed } = await transpile(root, { outputsToKeep: [cliBin] });
  if (written > 0) done.push(`transpiled ${written} file(s)`);
  if (removed > 0) done.push(`removed ${removed} stale file(s)`);

  const cliInputs = [at('dist', 'cli'), at('dist', 'generated'), packageLock, at('scripts', 'bundle-cli.mjs')];
  if (mtimeOf(cliBin) < newest(cliInputs, (path) => path === cliBin)) {
    await import('./bundle-cli.mjs');
    done.push('bundled the CLI');
  }

  const graphiqlInputs = [at('server', 'graphiql'), at('scripts', 'build-graphiql.mjs'), packageLock];
  if (mtimeOf(at('dist', 'graphiql', 'index.html')) < newest(graphiqlInputs)) {
    const result = spawnSync(process.execPath, [at('scripts', 'build-graphiql.mjs')], { cwd: root, stdio: 'inherit' });
    if (result.status !== 0) throw new Error(`the GraphiQL bundle failed (scripts/build-graphiql.mjs exited with ${result.status ?? result.signal})`);
    done.push('built GraphiQL');
  }

  const webInputs = [at('web'), at('generated', 'web'), at('scripts', 'build-web.mjs'), packageLock];
  if (mtimeOf(at('dist', 'web', 'index.html')) < newest(webInputs)) {
    const result = spawnSync(process.execPath, [at('scripts', 'build-web.mjs')], { cwd: root, stdio: 'inherit' });
    if (result.status !== 0) throw new Error(`the web console bundle failed (scripts/build-web.mjs exited with ${result.status ?? result.signal})`);
    done.push('built the web console');
  }
}

try {
  await buildWhatChanged();
} catch (error) {
  // esbuild has printed each error with its file and line already.
  const reported = Array.isArray(error?.errors) && error.errors.length > 0;
  console.error(
    `build: failed${reported ? ' (see the errors above)' : `: ${error instanceof Error ? error.message : String(error)}`}; fix it and run the command again.`,
  );
  process.exit(1);
}

chmodSync(at('dist', 'server', 'main.js'), 0o755);
if (done.length > 0) console.log(`build: ${done.join(', ')} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
