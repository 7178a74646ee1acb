import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'cli', 'main.ts');
/** Resolved here, so that `mp` also starts from a `cwd` outside the repository. */
const TSX = require.resolve('tsx/cjs');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface MpOptions {
  /** XDG_CONFIG_HOME for the child; `env` may still set it. Unset: mp uses the default under $HOME. */
  configHome?: string;
  /** Added over `cleanCliEnv()` (and over `configHome`). */
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin, which is then closed; without it stdin is ignored. */
  stdin?: string;
  /** The child's working directory; the repository root by default. */
  cwd?: string;
  /** SIGKILL the child and reject if it has not exited by then; no limit by default. */
  timeoutMs?: number;
}

export interface MpProcess {
  /** The running child, e.g. to send it SIGINT; `child.stdout` is already utf8 and collected into `done`. */
  child: ChildProcess;
  /** Resolves when the child has exited and closed its streams. */
  done: Promise<CliResult>;
}

/** The inherited environment without anything that would steer mp away from the test's server and config, or colour its output. */
export function cleanCliEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['MP_API_KEY', 'MP_API_URL', 'NO_COLOR', 'FORCE_COLOR', 'XDG_CONFIG_HOME']) delete env[name];
  return env;
}

/** Starts `mp` as a real child process (through tsx, as a user of the source tree would) and hands back the child. */
export function spawnMp(args: string[], options: MpOptions = {}): MpProcess {
  const child = spawn(process.execPath, ['--require', TSX, CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    env: {
      ...cleanCliEnv(),
      ...(options.configHome === undefined ? {} : { XDG_CONFIG_HOME: options.configHome }),
      ...options.env,
    },
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  const { stdout: out, stderr: err } = child;
  if (!out || !err) throw new Error('spawn gave no stdout/stderr pipes');
  let stdout = '';
  let stderr = '';
  out.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  err.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<CliResult>((resolve, reject) => {
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            child.kill('SIGKILL');
            reject(new Error(`mp ${args.join(' ')} did not exit within ${options.timeoutMs} ms\n--- stdout\n${stdout}\n--- stderr\n${stderr}`));
          }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  return { child, done };
}

/** Runs `mp` as a real child process to completion. */
export function runMp(args: string[], options: MpOptions = {}): Promise<CliResult> {
  return spawnMp(args, options).done;
}
