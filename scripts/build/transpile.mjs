// TypeScript to dist/, one output file per source, with esbuild: only sources newer than their
// output are transpiled, and outputs whose source is gone are removed. esbuild does not check
// types (`npm run typecheck` does, and npm test and CI run it); it transpiles the way tsx does
// under the tests, in about a second for the whole tree where tsc takes ten here.
import { rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { filesUnder, mtimeOf, newestMtime } from './newest.mjs';

const SOURCE_DIRS = ['server', 'cli', 'generated'];
// The demo seed scores the demo models with the training template's own ridge code (demo-baselines.ts).
const SOURCE_FILES = ['ormconfig.ts', 'cli/templates/runpod-signal-train/src/model.ts', 'cli/templates/runpod-signal-train/src/metrics.ts'];
// Browser code (bundled by build-graphiql.mjs) and what `mp init` copies are not compiled.
const NOT_COMPILED = ['server/graphiql', 'cli/templates'];

function isTypeScript(name) {
  return name.endsWith('.ts') && !name.endsWith('.d.ts');
}

function sources(root) {
  const skip = (path) => NOT_COMPILED.some((dir) => path === join(root, dir));
  return [
    ...SOURCE_DIRS.flatMap((dir) => filesUnder(join(root, dir), isTypeScript, skip)),
    ...SOURCE_FILES.map((file) => join(root, file)).filter((file) => mtimeOf(file) >= 0),
  ];
}

const outputOf = (root, source) => join(root, 'dist', `${relative(root, source).slice(0, -'.ts'.length)}.js`);

/** Transpiles what changed; returns the number of files written and removed. */
export async function transpile(root, { outputsToKeep }) {
  const all = sources(root);
  // A new esbuild (package-lock.json), compiler options or this script: everything again.
  const stamp = join(root, 'dist', '.transpiled');
  const settings = Math.max(...['tsconfig.json', 'package-lock.json', 'scripts/build'].map((file) => newestMtime(join(root, file))));
  const everything = mtimeOf(stamp) < settings;
  const changed = everything ? all : all.filter((source) => mtimeOf(outputOf(root, source)) < mtimeOf(source));

  const expected = new Set(all.map((source) => outputOf(root, source)));
  const orphans = SOURCE_DIRS.flatMap((dir) => filesUnder(join(root, 'dist', dir), (name) => name.endsWith('.js'))).filter(
    (output) => !expected.has(output) && !outputsToKeep.includes(output),
  );
  for (const output of orphans) {
    rmSync(output, { force: true });
    rmSync(`${output}.map`, { force: true });
  }

  if (changed.length > 0) {
    // Loaded only when there is work: a start with nothing to build does not pay for it.
    const { build } = await import('esbuild');
    await build({
      absWorkingDir: root,
      entryPoints: changed,
      outdir: join(root, 'dist'),
      outbase: root,
      bundle: false,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      sourcemap: true,
      tsconfig: join(root, 'tsconfig.json'),
      logLevel: 'warning',
    });
  }
  if (everything) writeFileSync(stamp, `${new Date().toISOString()}\n`);
  return { written: changed.length, removed: orphans.length };
}
