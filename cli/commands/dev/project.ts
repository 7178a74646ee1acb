/**
 * The serving project `mp dev` runs: the current directory's package.json must declare
 * `"mp": {"kind": "inference"}` (as runpod-signal-http does). The program is the first file named
 * in its `scripts.dev`, else `scripts.start` (e.g. "tsx watch src/server.ts"), else `mp.entry` or
 * `main`; a TypeScript one runs as `node --require <tsx/cjs> <entry>`, with the project's own tsx
 * when it has one installed, else the one mp came with.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliError, ExitCode } from '../../errors';

export interface ServingProject {
  dir: string;
  /** The entry, relative to `dir`. */
  entry: string;
  /** Arguments to `process.execPath`. */
  args: string[];
  /** For the status line: "node --require tsx/cjs src/server.ts". */
  display: string;
  /** Where a change restarts the program: `src/` (else the entry's directory). */
  watchDir: string;
}

interface Manifest {
  main?: unknown;
  scripts?: Record<string, unknown>;
  dependencies?: Record<string, unknown>;
  mp?: { kind?: unknown; entry?: unknown };
}

const ENTRY = /(?:^|\s)((?:[\w@.-]+\/)*[\w@.-]+\.(?:[cm]?ts|[cm]?js))(?=\s|$)/;
const INIT_HINT = 'Run it in a project made by `mp init --template runpod-signal-http <dir>` (then `cd <dir>` and `npm install`).';

function invalid(message: string, hint = INIT_HINT): CliError {
  return new CliError(message, ExitCode.INVALID, { hint });
}

function readManifest(dir: string): Manifest {
  const file = path.join(dir, 'package.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw invalid(`${dir} is not a serving template's project: it has no package.json`);
  }
  try {
    const manifest = JSON.parse(text) as unknown;
    if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) throw new Error('not an object');
    return manifest as Manifest;
  } catch (error) {
    throw invalid(`${file} is not valid JSON: ${(error as Error).message}`, 'Fix package.json and run mp dev again.');
  }
}

function entryOf(manifest: Manifest): string | null {
  for (const script of ['dev', 'start']) {
    const command = manifest.scripts?.[script];
    const found = typeof command === 'string' ? ENTRY.exec(command)?.[1] : undefined;
    if (found) return found;
  }
  for (const candidate of [manifest.mp?.entry, manifest.main]) if (typeof candidate === 'string' && candidate !== '') return candidate;
  return null;
}

/** `tsx/cjs` of the project when installed there, else mp's own; null when neither has one. */
function resolveTsx(dir: string): string | null {
  for (const from of [[dir], undefined]) {
    try {
      return require.resolve('tsx/cjs', from ? { paths: from } : undefined);
    } catch {
      /* try the next */
    }
  }
  return null;
}

/** Dependencies (other than tsx, which mp can lend) the program could not load. */
function missingDependencies(dir: string, manifest: Manifest): string[] {
  return Object.keys(manifest.dependencies ?? {}).filter((name) => {
    if (name === 'tsx') return false;
    try {
      require.resolve(`${name}/package.json`, { paths: [dir] });
      return false;
    } catch {
      return true;
    }
  });
}

export function findServingProject(dir: string): ServingProject {
  const manifest = readManifest(dir);
  if (manifest.mp?.kind !== 'inference') {
    const training = manifest.mp !== undefined && typeof manifest.mp === 'object';
    throw invalid(
      training
        ? `${dir} is not an inference endpoint's project (package.json "mp" has no "kind": "inference"): mp dev serves endpoints; a training program runs with npm start`
        : `${dir} is not a serving template's project: its package.json has no "mp": {"kind": "inference"}`,
    );
  }
  const entry = entryOf(manifest);
  if (entry === null)
    throw invalid(
      'package.json names no program to run: give scripts.dev or scripts.start a file (e.g. "tsx src/server.ts")',
      'Fix package.json and run mp dev again.',
    );
  const file = path.resolve(dir, entry);
  const inside = path.relative(dir, file);
  if (inside.startsWith('..') || path.isAbsolute(inside)) throw invalid(`the program ${entry} lies outside ${dir}`, 'Fix package.json and run mp dev again.');
  if (!fs.statSync(file, { throwIfNoEntry: false })?.isFile())
    throw invalid(`the program ${entry} named in package.json does not exist`, 'Fix package.json and run mp dev again.');
  const missing = missingDependencies(dir, manifest);
  if (missing.length > 0) throw invalid(`the project's dependencies are not installed (${missing.join(', ')})`, 'Run `npm install` first.');

  const src = path.join(dir, 'src');
  const watchDir = fs.statSync(src, { throwIfNoEntry: false })?.isDirectory() ? src : path.dirname(file);
  if (!/\.[cm]?[jt]s$/.test(file)) throw invalid(`the program ${entry} is neither TypeScript nor JavaScript`, 'Fix package.json and run mp dev again.');
  if (/\.[cm]?js$/.test(file)) return { dir, entry: inside, args: [file], display: `node ${inside}`, watchDir };
  const tsx = resolveTsx(dir);
  if (tsx === null) throw invalid(`${inside} is TypeScript, and tsx is not installed to run it`, 'Run `npm install` first.');
  return { dir, entry: inside, args: ['--require', tsx, file], display: `node --require tsx/cjs ${inside}`, watchDir };
}
