/**
 * The benchmark harness (not a benchmark itself: names starting with `_` are
 * not listed by scripts/bench.mjs). Machine facts, statistics, the result table, building
 * dist/ when it is stale, and child processes (compiled server, hello-world server) that
 * are always killed when the benchmark ends, however it ends.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');

// ---------------------------------------------------------------------------------------
// Header

/** Print what the figures depend on: the benchmark, the date, node, CPU, cores, commit. */
export function printHeader(name: string, description: string, extra: [string, string][] = []): void {
  const cpus = os.cpus();
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length;
  const lines: [string, string][] = [
    ['benchmark', `${name}: ${description}`],
    ['date', new Date().toISOString()],
    ['node', `${process.version} (${process.platform} ${process.arch})`],
    ['cpu', `${cpus[0]?.model?.trim() ?? 'unknown'}`],
    ['cores', `${cores} available (${cpus.length} reported by os.cpus())`],
    ['memory', `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB total`],
    ['commit', gitDescription()],
    ...extra,
  ];
  const width = Math.max(...lines.map(([key]) => key.length));
  for (const [key, value] of lines) console.log(`${key.padEnd(width)}  ${value}`);
  console.log('');
}

function gitDescription(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return dirty ? `${commit} (with uncommitted changes)` : commit;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/** A line on stderr about what the benchmark is doing, so stdout stays the report. */
export function progress(message: string): void {
  process.stderr.write(`… ${message}\n`);
}

// ---------------------------------------------------------------------------------------
// Command-line options

/**
 * `--name value` options over a copy of `defaults` (`--postgres-url` sets `postgresUrl`): where the
 * default is a number, a whole number within `bounds[name]` (default 0 to 1e9); a string, any
 * value; a boolean, a flag without a value. Anything else throws, naming the options.
 */
export function parseOptions<T extends Record<string, number | string | boolean>>(
  argv: string[],
  defaults: T,
  bounds: Partial<Record<keyof T, [number, number]>> = {},
): T {
  const options: Record<string, number | string | boolean> = { ...defaults };
  const flag = (key: string) => `--${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
  for (let i = 0; i < argv.length; i += 1) {
    const key = argv[i].startsWith('--') ? argv[i].slice(2).replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase()) : '';
    if (!Object.hasOwn(defaults, key)) throw new Error(`unknown argument ${argv[i]}: the options are ${Object.keys(defaults).map(flag).join(', ')}`);
    if (typeof defaults[key] === 'boolean') {
      options[key] = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag(key)} needs a value`);
    if (typeof defaults[key] === 'string') {
      options[key] = value;
      continue;
    }
    const [min, max] = bounds[key] ?? [0, 1e9];
    const number = Number(value);
    if (!Number.isInteger(number) || number < min || number > max) throw new Error(`${flag(key)} takes a whole number from ${min} to ${max} (got ${value})`);
    options[key] = number;
  }
  return options as T;
}

// ---------------------------------------------------------------------------------------
// Statistics

export interface Summary {
  n: number;
  mean: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function summarize(samples: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(samples).sort();
  let total = 0;
  for (let i = 0; i < sorted.length; i += 1) total += sorted[i];
  return {
    n: sorted.length,
    mean: sorted.length ? total / sorted.length : Number.NaN,
    min: sorted[0] ?? Number.NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/** Milliseconds with three significant digits below 100 ms (0.000812 ms, 0.0412 ms, 31.2 ms, 142 ms). */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return '-';
  if (value >= 100) return `${value.toFixed(0)} ms`;
  if (value === 0) return '0 ms';
  return `${Number(value.toPrecision(3))} ms`;
}

export function count(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

// ---------------------------------------------------------------------------------------
// Targets and the table

export interface Target {
  /** What the table shows, e.g. "p99 < 0.5 ms". */
  label: string;
  /** undefined: informational, never MISSED. */
  met?: boolean;
}

export function below(value: number, limit: number, label: string): Target {
  return { label, met: value < limit };
}

export function atLeast(value: number, limit: number, label: string): Target {
  return { label, met: value >= limit };
}

export function info(label: string): Target {
  return { label };
}

export function verdict(target: Target): string {
  if (target.met === undefined) return 'info';
  return target.met ? 'ok' : 'MISSED';
}

/** A plain, aligned text table (readable in a terminal and pastable into a README code block). */
export function printTable(headers: string[], rows: string[][], rightAligned: number[] = []): void {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const format = (cells: string[]) =>
    cells
      .map((cell, column) => (rightAligned.includes(column) ? cell.padStart(widths[column]) : cell.padEnd(widths[column])))
      .join('  ')
      .trimEnd();
  console.log(format(headers));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const row of rows) console.log(format(row));
}

// ---------------------------------------------------------------------------------------
// Building dist/

/** Brings dist/ up to date with scripts/build.mjs (which does only what changed); says what it did. */
export function ensureBuilt(): string {
  const started = Date.now();
  const result = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
  if (result.status !== 0) throw new Error(`node scripts/build.mjs failed (exit ${result.status}):\n${indent(output)}`);
  if (!output) return 'dist/ up to date with the sources';
  progress(`${output.split('\n').pop()} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return `rebuilt: ${output.split('\n').pop()}`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .slice(0, 40)
    .map((line) => `    ${line}`)
    .join('\n');
}

// ---------------------------------------------------------------------------------------
// Child processes and temporary directories, cleaned up on every way out

const children = new Set<ChildProcess>();
const temporaryDirectories = new Set<string>();

export function temporaryDirectory(prefix: string): string {
  const directory = mkdtempSync(path.join(os.tmpdir(), `mp-bench-${prefix}-`));
  temporaryDirectories.add(directory);
  return directory;
}

function cleanUpSync(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
  for (const directory of temporaryDirectories) rmSync(directory, { recursive: true, force: true });
  temporaryDirectories.clear();
}

process.on('exit', cleanUpSync);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\ninterrupted (${signal}): stopping child processes\n`);
    cleanUpSync();
    process.exit(130);
  });
}

/** A long-running child process we started; stop() sends SIGTERM, then SIGKILL after a grace period. */
export interface Service {
  name: string;
  child: ChildProcess;
  /** The URL the child printed (for our server: the /graphql URL). */
  url: string;
  /** The last 100 kB of its stdout and stderr. */
  output(): string;
  /** What _server-probe.js reported, one entry per closed window. */
  probes: ProbeReport[];
  stop(): Promise<void>;
}

export interface ProbeReport {
  eventLoopDelay: { p50: number; p99: number; max: number };
  profile?: string;
  profileError?: string;
}

/** Preload for a child (`--require`): SIGUSR2 opens and closes a measurement window, see the file. */
export const SERVER_PROBE = path.join(__dirname, '_server-probe.js');

/** Open a probe window in a child started with SERVER_PROBE; the function returned closes it and resolves with its report. */
export function openProbeWindow(service: Service): () => Promise<ProbeReport> {
  const before = service.probes.length;
  service.child.kill('SIGUSR2');
  return async () => {
    service.child.kill('SIGUSR2');
    const deadline = Date.now() + 30_000;
    while (service.probes.length === before) {
      if (Date.now() > deadline) throw new Error(`${service.name} sent no probe report in 30 s:\n${service.output().slice(-2000)}`);
      if (service.child.exitCode !== null || service.child.signalCode !== null)
        throw new Error(`${service.name} exited during the measurement:\n${service.output().slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return service.probes[service.probes.length - 1];
  };
}

/** Spawn `node <args>` (in `cwd`, default the repository) and wait until a stdout line matches `ready` (its first group is the URL). */
export async function startService(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
  timeoutMs = 60_000,
  cwd: string = ROOT,
): Promise<Service> {
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let output = '';
  const probes: ProbeReport[] = [];
  let partialLine = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    append(chunk);
    const lines = (partialLine + chunk.toString('utf8')).split('\n');
    partialLine = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('bench-probe ')) probes.push(JSON.parse(line.slice('bench-probe '.length)) as ProbeReport);
    }
  });
  function append(chunk: Buffer): void {
    output += chunk.toString('utf8');
    if (output.length > 200_000) output = output.slice(-100_000);
  }
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not report ready in ${timeoutMs / 1000} s:\n${output}`)), timeoutMs);
    let found = false;
    child.stdout!.on('data', (chunk: Buffer) => {
      append(chunk);
      const match = found ? null : ready.exec(output);
      if (match) {
        found = true;
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${signal ?? `code ${code}`}) before it was ready:\n${output}`));
    });
  });
  return {
    name,
    child,
    url,
    output: () => output.slice(-100_000),
    probes,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The environment of a child: ours, minus what would point it at another database or server. */
export function childEnv(overrides: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['DATABASE_URL', 'MP_API_KEY', 'MP_API_URL', 'NODE_OPTIONS', 'FORCE_COLOR', 'XDG_CONFIG_HOME']) delete env[name];
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/**
 * The compiled server (`node dist/server/main.js start`) on a fresh embedded database in a
 * temporary MP_DATA_DIR (migrated and seeded with the demo catalog on first start), port 0.
 */
export function startCompiledServer(options: { nodeArgs?: string[]; env?: Record<string, string> } = {}): Promise<Service> {
  const dataDir = temporaryDirectory('data');
  const env = childEnv({ MP_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', MP_LOG_LEVEL: 'warn', ...options.env });
  return startService('mp-server', [...(options.nodeArgs ?? []), 'dist/server/main.js', 'start'], env, /GraphQL \+ GraphiQL: (http:\/\/\S+\/graphql)/, 90_000);
}

/** A bare node:http hello-world server in a process of its own (the baseline for HTTP throughput). */
export function startHelloServer(options: { nodeArgs?: string[] } = {}): Promise<Service> {
  return startService(
    'hello-world',
    [...(options.nodeArgs ?? []), path.join(__dirname, '_hello-server.js')],
    childEnv({}),
    /^listening on (http:\/\/\S+)$/m,
    15_000,
  );
}

/** Run the benchmark's main; any thrown error is a broken benchmark (exit 1), after cleaning up. */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => {
      cleanUpSync();
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`\nbenchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      cleanUpSync();
      process.exit(1);
    },
  );
}

// ---------------------------------------------------------------------------------------
// CPU time of a child process (Linux /proc; undefined elsewhere)

let clockTicks: number | undefined;

/** User + system CPU seconds a process has used so far. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined || process.platform !== 'linux') return undefined;
  try {
    clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return undefined;
  }
}
