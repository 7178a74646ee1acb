/**
 * Helpers shared by the download and training benchmarks (not a benchmark itself): the
 * compiled server on a data directory (or database) we prepared, its one-shot operator
 * commands (`vendor create`, `rounds create`, `migrate`), GraphQL over HTTP, a process's RSS,
 * and throwaway PostgreSQL databases that are dropped however the benchmark ends.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client as PgClient } from 'pg';
import { cpuSeconds, ms, openProbeWindow, ROOT, startService, temporaryDirectory, type Service } from './_harness';

export const SERVER_MAIN = path.join(ROOT, 'dist', 'server', 'main.js');
export const CLI_MAIN = path.join(ROOT, 'dist', 'cli', 'mp.js');
const READY = /GraphQL \+ GraphiQL: (http:\/\/\S+\/graphql)/;

/** Wall-clock milliseconds since the epoch with sub-millisecond precision (comparable across processes of one machine). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** "1.02 0.80 0.55 (1, 5, 15 min)": other work on the machine skews every figure. */
export function loadAverage(): string {
  const os = require('node:os') as typeof import('node:os');
  return `${os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(' ')} (1, 5, 15 min)`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The S&P 500 daily history shipped in vega-datasets (5,104 rows). */
export function sp500Csv(): string {
  return path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data', 'sp500-2000.csv');
}

// ---------------------------------------------------------------------------------------
// Short-lived child processes (killed on exit if still running)

const oneShots = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of oneShots) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** spawn() to the exit event. */
  wallMs: number;
}

/** Runs `file args` to its end (SIGKILL after timeoutMs). */
export function runCommand(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(file, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    oneShots.add(child);
    let stdout = '';
    let stderr = '';
    let exited: { code: number | null; signal: NodeJS.Signals | null; wallMs: number } | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (stdout.length > 1_000_000) stdout = stdout.slice(-500_000);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      if (stderr.length > 1_000_000) stderr = stderr.slice(-500_000);
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      oneShots.delete(child);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      exited = { code, signal, wallMs: Number(process.hrtime.bigint() - started) / 1e6 };
    });
    child.once('close', () => {
      clearTimeout(timer);
      oneShots.delete(child);
      resolve({ ...exited!, stdout, stderr });
    });
  });
}

/** `node dist/server/main.js <args>`; throws with its output unless it exits 0. */
export async function serverCommand(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 180_000): Promise<string> {
  const result = await runCommand(process.execPath, [SERVER_MAIN, ...args], env, timeoutMs);
  if (result.code !== 0) {
    throw new Error(`mp-server ${args.join(' ')} exited with ${result.signal ?? result.code}:\n${result.stdout}${result.stderr}`.slice(0, 6000));
  }
  return result.stdout;
}

/** `mp-server vendor create --json`: a vendor and its first API key. */
export async function createVendor(env: NodeJS.ProcessEnv, name = 'Bench Vendor'): Promise<{ vendorId: string; apiKey: string }> {
  const stdout = await serverCommand(['vendor', 'create', '--name', name, '--email', 'bench@example.com', '--json'], env);
  const line = stdout.trim().split('\n').pop() ?? '';
  const parsed = JSON.parse(line) as { vendorId?: string; apiKey?: string };
  if (!parsed.vendorId || !parsed.apiKey) throw new Error(`vendor create printed no key: ${stdout}`);
  return { vendorId: parsed.vendorId, apiKey: parsed.apiKey };
}

/** The compiled server (`node [nodeArgs] dist/server/main.js start`) with exactly this environment. */
export function startServer(name: string, env: NodeJS.ProcessEnv, nodeArgs: string[] = []): Promise<Service> {
  return startService(name, [...nodeArgs, SERVER_MAIN, 'start'], env, READY, 90_000);
}

// ---------------------------------------------------------------------------------------
// GraphQL over HTTP

export interface GraphQLError {
  message: string;
  extensions?: { code?: string };
}

/** POST a GraphQL operation; throws on HTTP or GraphQL errors. */
export async function graphql<T>(url: string, query: string, variables: Record<string, unknown> = {}, apiKey?: string): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  let body: { data?: T; errors?: GraphQLError[] };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new Error(`HTTP ${response.status} from ${url}: ${text.slice(0, 500)}`);
  }
  if (body.errors?.length || !body.data) {
    throw new Error(`GraphQL error from ${url}: ${JSON.stringify(body.errors ?? body).slice(0, 1000)}`);
  }
  return body.data;
}

// ---------------------------------------------------------------------------------------
// Memory of a process (Linux /proc)

/** Resident set size in bytes (VmRSS), or undefined when the process is gone or this is not Linux. */
export function rssBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

// ---------------------------------------------------------------------------------------
// Throwaway PostgreSQL databases

export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

const toDrop = new Map<string, string>();

/** Drops what is left synchronously (a child node process) when the benchmark exits or is interrupted. */
process.on('exit', () => {
  for (const [name, adminUrl] of toDrop) {
    const script = `const { Client } = require('pg'); const c = new Client({ connectionString: process.argv[1] }); c.connect().then(() => c.query('DROP DATABASE IF EXISTS ${name} WITH (FORCE)')).then(() => c.end(), () => process.exit(1));`;
    spawnSync(process.execPath, ['-e', script, adminUrl], { cwd: ROOT, stdio: 'ignore', timeout: 15_000 });
  }
  toDrop.clear();
});

export interface ThrowawayDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** CREATE DATABASE mp_bench_<random> on the server adminUrl points at. */
export async function createPostgresDatabase(adminUrl: string): Promise<ThrowawayDatabase> {
  const { Client } = require('pg') as typeof import('pg');
  const name = `mp_bench_${Math.random().toString(16).slice(2, 10)}`;
  const admin = new Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  toDrop.set(name, adminUrl);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const client = new Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        toDrop.delete(name);
      } finally {
        await client.end();
      }
    },
  };
}

/** Whether a PostgreSQL server answers at adminUrl (and why not). */
export async function postgresReachable(adminUrl: string): Promise<string | null> {
  const { Client } = require('pg') as typeof import('pg');
  const client = new Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------
// Small helpers shared by the benchmarks that run many deployments

/**
 * MP_TEMPLATES_DIR with a serving template (the built-in one's name, runpod-signal-http) that
 * stays silent: no output, no port, no heartbeats; it ends by itself when the server that started
 * it goes away (as in heartbeats.ts and tokens.ts).
 */
export function writeSilentTemplate(): string {
  const root = temporaryDirectory('templates');
  const dir = path.join(root, 'runpod-signal-http');
  mkdirSync(path.join(dir, 'src'), { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'runpod-signal-http', private: true, mp: { entry: 'src/silent.js' } }));
  writeFileSync(
    path.join(dir, 'src', 'silent.js'),
    `const parent = process.ppid;\nsetInterval(() => { if (process.ppid !== parent) process.exit(0); }, 5000);\n`,
  );
  return root;
}

/** Runs `work` over `items`, at most `limit` at a time. */
export async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      await work(items[index], index);
    }
  });
  await Promise.all(lanes);
}

const CREATE_DEPLOYMENT = `mutation ($input: CreateDeploymentInput!) { createDeployment(input: $input) { deployment { id } token } }`;
const DEPLOYMENT_COUNTS = `{
  starting: deployments(filter: { status: [STARTING, RUNNING] }, first: 1) { totalCount }
  failed: deployments(filter: { status: [FAILED, STOPPED] }, first: 1) { totalCount }
}`;

/**
 * createDeployment for each input (4 at a time), then waits until the vendor's deployments are
 * all STARTING or RUNNING (so the vendor should have no others). Returns ids and tokens in order.
 */
export async function createDeployments(url: string, apiKey: string, inputs: Record<string, unknown>[]): Promise<{ id: string; token: string }[]> {
  const created: { id: string; token: string }[] = [];
  await eachLimited(inputs, 4, async (input, index) => {
    const data = await graphql<{ createDeployment: { deployment: { id: string }; token: string } }>(url, CREATE_DEPLOYMENT, { input }, apiKey);
    created[index] = { id: data.createDeployment.deployment.id, token: data.createDeployment.token };
  });
  for (const deadline = Date.now() + 180_000; ; await sleep(500)) {
    const counts = await graphql<{ starting: { totalCount: number }; failed: { totalCount: number } }>(url, DEPLOYMENT_COUNTS, {}, apiKey);
    if (counts.failed.totalCount > 0) throw new Error(`${counts.failed.totalCount} deployment(s) FAILED or STOPPED while starting`);
    if (counts.starting.totalCount === inputs.length) return created;
    if (Date.now() > deadline) throw new Error(`only ${counts.starting.totalCount}/${inputs.length} deployments STARTING after 180 s`);
  }
}

export interface ResourceWindow {
  /** CPU of each service (1 = one core). */
  services: number[];
  /** Summed CPU of the PostgreSQL backends of the database `stats` is connected to (itself excluded). */
  postgres: number;
  /** CPU of this process. */
  bench: number;
  /** "p99 / max" event-loop delay of each service (started with --require SERVER_PROBE). */
  loops: string[];
}

/** Starts measuring CPU (Linux /proc) and the services' event loops; the function returned ends the window after `seconds`. */
export async function openResourceWindow(services: Service[], stats: PgClient): Promise<(seconds: number) => Promise<ResourceWindow>> {
  const backends = async () =>
    (await stats.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()')).rows.map(
      (row) => row.pid,
    );
  const before = services.map((service) => cpuSeconds(service.child.pid) ?? 0);
  const postgres = new Map((await backends()).map((pid) => [pid, cpuSeconds(pid) ?? 0]));
  const bench = process.cpuUsage();
  const closeProbes = services.map((service) => openProbeWindow(service));
  return async (seconds) => {
    const used = process.cpuUsage(bench);
    const probes = await Promise.all(closeProbes.map((close) => close()));
    let pg = 0;
    for (const pid of await backends()) pg += (cpuSeconds(pid) ?? 0) - (postgres.get(pid) ?? 0); // one that appeared meanwhile counts in full
    return {
      services: services.map((service, i) => ((cpuSeconds(service.child.pid) ?? 0) - before[i]) / seconds),
      postgres: pg / seconds,
      bench: (used.user + used.system) / 1e6 / seconds,
      loops: probes.map(({ eventLoopDelay }) => `${ms(eventLoopDelay.p99)} / ${ms(eventLoopDelay.max)}`),
    };
  };
}
