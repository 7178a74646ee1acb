/**
 * `npm start` timed as a newcomer meets it (a helper of cli.ts, not a benchmark): in a fresh
 * copy of the working tree (no dist/, node_modules linked) on a fresh embedded database, the
 * first start builds everything and migrates; the second, in the same copy on the same data,
 * finds nothing to build. Each start is timed from spawn() to the "GraphQL + GraphiQL:" line
 * of the banner, then stopped with SIGTERM to its process group (npm, sh, node).
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdirSync, realpathSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { childEnv, progress, ROOT, temporaryDirectory } from './_harness';

const READY = /GraphQL \+ GraphiQL: (http:\/\/\S+\/graphql)/;
const running = new Set<number>();

process.on('exit', () => {
  for (const pgid of running) killGroup(pgid, 'SIGKILL');
});

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** The working tree as git sees it (tracked and untracked files, not ignored ones) in a new directory. */
function copyWorkingTree(): string {
  const copy = temporaryDirectory('start');
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((file) => file && file !== 'node_modules' && existsSync(path.join(ROOT, file)));
  for (const file of files) {
    mkdirSync(path.dirname(path.join(copy, file)), { recursive: true });
    copyFileSync(path.join(ROOT, file), path.join(copy, file));
  }
  symlinkSync(realpathSync(path.join(ROOT, 'node_modules')), path.join(copy, 'node_modules'));
  return copy;
}

/** npm's own script, run with this node (the `npm` on PATH is a shell wrapper on some systems). */
function npmCli(): string {
  return realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
}

/** Milliseconds from spawning `npm start` in `cwd` to its ready line; the server is stopped before this returns. */
async function timeStart(cwd: string, dataDir: string): Promise<number> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [npmCli(), 'start'], {
    cwd,
    env: childEnv({ MP_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' }),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.add(child.pid!);
  let output = '';
  const exited = once(child, 'exit');
  try {
    return await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start was not ready in 120 s:\n${output.slice(-4000)}`)), 120_000);
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (READY.test(output)) {
          clearTimeout(timer);
          resolve(Number(process.hrtime.bigint() - started) / 1e6);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`npm start exited (${signal ?? `code ${code}`}) before it was ready:\n${output.slice(-4000)}`));
      });
    });
  } finally {
    killGroup(child.pid!, 'SIGTERM');
    const hard = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), 10_000);
    if (child.exitCode === null && child.signalCode === null) await exited;
    // npm exits once its script does; wait for the server itself to let go of the data directory.
    for (let i = 0; i < 100; i += 1) {
      try {
        process.kill(-child.pid!, 0);
      } catch {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    clearTimeout(hard);
    running.delete(child.pid!);
  }
}

export interface StartTimes {
  first: number[];
  second: number[];
}

/** `rounds` fresh copies: in each, one first start and `seconds` second starts. */
export async function measureNpmStart(rounds: number, seconds: number): Promise<StartTimes> {
  const times: StartTimes = { first: [], second: [] };
  for (let round = 1; round <= rounds; round += 1) {
    progress(`npm start round ${round}/${rounds}: copying the working tree`);
    const copy = copyWorkingTree();
    const dataDir = temporaryDirectory('start-data');
    times.first.push(await timeStart(copy, dataDir));
    for (let i = 0; i < seconds; i += 1) times.second.push(await timeStart(copy, dataDir));
    progress(
      `npm start round ${round}/${rounds}: first ${(times.first.at(-1)! / 1000).toFixed(1)} s, then ${times.second
        .slice(-seconds)
        .map((ms) => (ms / 1000).toFixed(1))
        .join(', ')} s`,
    );
  }
  return times;
}
