// `npm run bench -- <name> [args]` runs scripts/bench/<name>.ts (with tsx) and passes its exit
// code on; `npm run bench` lists the benchmarks. A benchmark prints figures and targets
// (ok / MISSED) and exits 0 even when a target is missed: non-zero means it broke.
// Files in scripts/bench/ whose names start with `_` are helpers, not benchmarks.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = join(root, 'scripts', 'bench');

/** Each benchmark's first doc-comment line is its description. */
function benchmarks() {
  return readdirSync(benchDir)
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.startsWith('_'))
    .sort()
    .map((file) => {
      const text = readFileSync(join(benchDir, file), 'utf8');
      const match = /\/\*\*\s*\n?\s*\*?\s*([^\n]+)/.exec(text);
      return { name: file.slice(0, -3), description: match ? match[1].replace(/\s*\*\/\s*$/, '').trim() : '' };
    });
}

function usage() {
  const list = benchmarks();
  const width = Math.max(...list.map((bench) => bench.name.length));
  return [
    'usage: npm run bench -- <name>',
    '',
    'benchmarks:',
    ...list.map((bench) => `  ${bench.name.padEnd(width)}  ${bench.description}`),
    '',
    'Each prints machine facts, a table of figures and the target beside each (ok / MISSED).',
    'A missed target still exits 0; a non-zero exit means the benchmark itself failed.',
  ].join('\n');
}

const [name, ...rest] = process.argv.slice(2);

if (!name) {
  console.log(usage());
  process.exit(0);
}
if (name === '--help' || name === '-h') {
  console.log(usage());
  process.exit(0);
}
if (!/^[a-z0-9][a-z0-9-]*$/.test(name) || !existsSync(join(benchDir, `${name}.ts`))) {
  console.error(`unknown benchmark "${name}"\n\n${usage()}`);
  process.exit(2);
}

// --expose-gc: a benchmark may collect its own garbage before a measured window (global.gc).
const child = spawn(process.execPath, ['--expose-gc', '--require', 'tsx/cjs', join(benchDir, `${name}.ts`), ...rest], { cwd: root, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  // The benchmark cleans up its own child processes; make sure it hears the signal too.
  process.on(signal, () => child.kill(signal));
}
child.on('error', (error) => {
  console.error(`could not start the benchmark: ${error.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  process.exit(code ?? (signal ? 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1) : 1));
});
