import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function serverEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'test', MP_LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: '0' };
  delete base.DATABASE_URL;
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete base[key];
    else base[key] = value;
  }
  return base;
}

/** Run `mp-server <args>` from sources to completion. */
export async function runServerCommand(args: string[], env: Record<string, string | undefined>): Promise<ProcessResult> {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', 'server/main.ts', ...args], {
    cwd: ROOT,
    env: serverEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

export interface RunningServer {
  child: ChildProcess;
  url: string;
  graphqlUrl: string;
  output(): string;
  /** SIGTERM and wait; resolves with the exit code and how long it took. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; ms: number }>;
}

/** Start `mp-server start` as a real process and wait until it prints its URL. */
export async function startServerProcess(env: Record<string, string | undefined>): Promise<RunningServer> {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', 'server/main.ts', 'start'], {
    cwd: ROOT,
    env: serverEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => (output += chunk));
  const graphqlUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 30 s:\n${output}`)), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk;
      const match = /GraphQL \+ GraphiQL: (http:\/\/\S+\/graphql)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before it started:\n${output}`));
    });
  });
  return {
    child,
    graphqlUrl,
    url: graphqlUrl.replace(/\/graphql$/, ''),
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return { code: child.exitCode, ms: 0 };
      const started = Date.now();
      child.kill(signal);
      const [code] = (await once(child, 'exit')) as [number | null];
      return { code, ms: Date.now() - started };
    },
  };
}
