/**
 * Deployment heartbeats: 500 LOCAL deployments heartbeating every second against two server processes on one PostgreSQL database, and how fast a silent one turns UNHEALTHY.
 *
 * Builds dist/ if stale. Creates a throwaway database (CREATE DATABASE on --postgres-url,
 * default postgres://postgres@127.0.0.1:5432/postgres or MP_BENCH_POSTGRES_URL; skipped with a
 * message when PostgreSQL cannot be reached), migrates it, creates a vendor with the operator
 * command, and starts two compiled servers (A and B) on it, each with MP_TEMPLATES_DIR pointing at
 * a serving template of this benchmark's own (it takes the built-in one's name,
 * runpod-signal-http): a few lines of plain JavaScript that write nothing, listen on nothing,
 * send no heartbeats and end when the server that started them goes away. The servers start it
 * as they start every LOCAL deployment (node --require tsx/cjs <entry>); its RSS and CPU are
 * measured and reported.
 *
 * Setup: N deployments (--deployments, default 500) with heartbeatIntervalSeconds 1 (and the
 * server's default rateLimitPerMinute unless --rate-limit), created through GraphQL on A and B
 * (half each), their sit_ tokens kept; wait until every one is STARTING. Subscriptions: a
 * graphql-ws connection to each server subscribes to `deploymentHealth` of 10 deployments that
 * will stop heartbeating and of 10 that keep on. Idle window (3 s, no requests): what the sweeps,
 * the schedule's claims and this bench's pollers cost the database. Warm-up: one `{ __typename }`
 * per token on each server (the first request with a token costs an argon2id check; then the
 * token sits in that server's validation cache for 60 s, the longest MP_KEY_CACHE_TTL_SECONDS
 * allows). Baseline (--baseline seconds, default 5): `{ __typename }` with the same tokens at the
 * same rate and spacing as the heartbeats, alternating servers: the same HTTP, authentication and
 * per-request work without a resolver. The deployments are STARTING and already UNHEALTHY then
 * (no heartbeat for 3 s since they started), so the health sweep finds nothing to do.
 *
 * Load (--duration seconds, default 30): deployment i sends `sendHeartbeat(input: {status:
 * READY})` every second at offset i/N s (spread evenly over the second), its k-th heartbeat to
 * server (i + k) mod 2; open loop (a slow answer does not delay the next send), over HTTP
 * keep-alive (one node:http Agent per server, as many sockets as requests in flight, as if each
 * deployment had its own connection). Latency: from request() to the end of the response. The
 * first heartbeat of each deployment (STARTING -> RUNNING, HEALTHY: a transaction and a NOTIFY)
 * is reported on its own; the steady figures are heartbeats 3 onwards. The report says whether
 * the window reached the end of the tokens' 60 s in the validation cache (with the default
 * durations it ends just before; a longer --duration shows what the re-checks do).
 *
 * Flips: at --stop-at (default 20 s) the benchmark stops heartbeating for the 10. Flip latency =
 * arrival of the UNHEALTHY event at the subscriber - the 3rd missed heartbeat (last heartbeat + 3
 * intervals; the last heartbeat's server time is its receipt's nextDueAt - 1 interval), once per
 * (deployment, server). A false flip is an UNHEALTHY event for a deployment that kept sending,
 * after its first HEALTHY and before its last heartbeat sent + 3 intervals: counted on the
 * subscriptions (the 10 watched) and in the history column of every deployment that kept on. A
 * poller (every 50 ms, a connection of its own) records when the health sweep started
 * (periodic_tasks.last_started_at), so each flip's latency splits into the wait for the next
 * sweep, the sweep itself, and the delivery; the sweep's start-to-start gaps are reported.
 *
 * Also measured per window: CPU, run-queue wait (/proc/<pid>/schedstat) and RSS of both servers,
 * of PostgreSQL's backends serving this database, of the endpoint processes and of this process;
 * the machine's CPU and IO pressure (/proc/pressure); the servers' event-loop delay
 * (_server-probe.js); the database's committed transactions and tuple counts (pg_stat_database,
 * pg_stat_user_tables: statements per request, HOT updates); from a connection of the bench's
 * own, 10 times a second, the heartbeat's SELECT and an autocommit UPDATE of a scratch row (what
 * the database alone costs a heartbeat under the same load); EXPLAIN ANALYZE of the sweep's and
 * the heartbeat's statements. Clean-up: every deployment is stopped, the servers are stopped, the
 * database is dropped. Options: --deployments N, --duration S, --stop-at S, --baseline S,
 * --rate-limit N, --postgres-url URL.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createClient, type Client as WsClient } from 'graphql-ws';
import { Client as PgClient } from 'pg';
import WebSocket from 'ws';
import {
  below,
  childEnv,
  cpuSeconds,
  ensureBuilt,
  info,
  ms,
  openProbeWindow,
  printHeader,
  printTable,
  progress,
  runMain,
  SERVER_PROBE,
  summarize,
  temporaryDirectory,
  verdict,
  type ProbeReport,
  type Service,
  type Summary,
  type Target,
} from './_harness';
import {
  createPostgresDatabase,
  createVendor,
  DEFAULT_POSTGRES_URL,
  graphql,
  loadAverage,
  mib,
  nowMs,
  postgresReachable,
  rssBytes,
  serverCommand,
  sleep,
  startServer,
} from './_servers';

const DESCRIPTION = 'deployment heartbeats (N LOCAL deployments at 1/s on two servers, one PostgreSQL) and the time a silent one takes to turn UNHEALTHY';
/** The server's MISSED_HEARTBEATS (server/modules/deployments/heartbeats.ts). */
const MISSED = 3;
const INTERVAL_MS = 1000;
const STOPPED_COUNT = 10;
const KEPT_WATCHED_COUNT = 10;
/** The first heartbeats of each deployment (index k below this) are not part of the steady figures. */
const STEADY_FROM_STEP = 2;
const SWEEP_POLL_MS = 50;
/** The { __typename } stream that runs beside the heartbeats, for a reference under the very same conditions. */
const REFERENCE_PER_SECOND = 50;
const CREATE_CONCURRENCY_PER_SERVER = 4;
/** The first request with a token waits for an argon2id check (one at a time on 2 cores, 64 waiting at most). */
const WARMUP_CONCURRENCY_PER_SERVER = 3;
const STOP_CONCURRENCY_PER_SERVER = 6;
/** MP_KEY_CACHE_TTL_SECONDS' default and maximum: a token is checked again (argon2id) this long after its first use on a server. */
const TOKEN_CACHE_TTL_MS = 60_000;

interface Options {
  deployments: number;
  durationSeconds: number;
  stopAtSeconds: number;
  baselineSeconds: number;
  /** The deployments' rateLimitPerMinute; undefined: the server's default. */
  rateLimit?: number;
  postgresUrl: string;
}

function parseOptions(argv: string[]): Options {
  const options: Options = {
    deployments: 500,
    durationSeconds: 30,
    stopAtSeconds: 20,
    baselineSeconds: 5,
    postgresUrl: process.env.MP_BENCH_POSTGRES_URL || DEFAULT_POSTGRES_URL,
  };
  const numeric = (name: string, value: string | undefined, min: number, max: number): number => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < min || number > max) throw new Error(`${name} takes a whole number from ${min} to ${max} (got ${value})`);
    return number;
  };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--deployments') options.deployments = numeric(arg, argv[++i], 3 * (STOPPED_COUNT + KEPT_WATCHED_COUNT), 2000);
    else if (arg === '--duration') options.durationSeconds = numeric(arg, argv[++i], 10, 600);
    else if (arg === '--stop-at') options.stopAtSeconds = numeric(arg, argv[++i], STEADY_FROM_STEP + 1, 590);
    else if (arg === '--baseline') options.baselineSeconds = numeric(arg, argv[++i], 1, 120);
    else if (arg === '--rate-limit') options.rateLimit = numeric(arg, argv[++i], 1, 100_000);
    else if (arg === '--postgres-url') options.postgresUrl = argv[++i] ?? '';
    else throw new Error(`unknown argument ${arg}: options are --deployments N, --duration S, --stop-at S, --baseline S, --rate-limit N, --postgres-url URL`);
  }
  if (options.stopAtSeconds + MISSED + 3 > options.durationSeconds) {
    throw new Error(`--stop-at ${options.stopAtSeconds} leaves too little of --duration ${options.durationSeconds}: the flips need ${MISSED + 3} s after it`);
  }
  return options;
}

// ---------------------------------------------------------------------------------------
// The bench's serving template

const SILENT_JS = String.raw`'use strict';
// npm run bench -- heartbeats: a serving process that stays silent. It writes nothing, listens on
// nothing and sends no heartbeats (the benchmark sends them with the deployment's token). It runs
// in a process group of its own, so it ends by itself when the server that started it goes away.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 5000);
`;

function writeTemplate(): string {
  const root = temporaryDirectory('templates');
  const dir = path.join(root, 'runpod-signal-http');
  mkdirSync(path.join(dir, 'src'), { recursive: true });
  const manifest = {
    name: 'runpod-signal-http',
    private: true,
    description: 'npm run bench -- heartbeats: a silent serving process (no output, no port, no heartbeats)',
    mp: { entry: 'src/silent.js' },
  };
  writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(path.join(dir, 'src', 'silent.js'), SILENT_JS);
  return root;
}

// ---------------------------------------------------------------------------------------
// Processes (Linux /proc)

/** Pids whose parent is one of `parents`. */
function childrenOf(parents: Set<number>): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parents.has(ppid)) found.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

interface Memory {
  rss: number;
  pss: number;
  /** Private_Clean + Private_Dirty: what the process alone holds. */
  uss: number;
}

function memoryOf(pid: number): Memory | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text)?.[1] ?? 0) * 1024;
    return { rss: field('Rss'), pss: field('Pss'), uss: field('Private_Clean') + field('Private_Dirty') };
  } catch {
    return undefined;
  }
}

function totalCpu(pids: Iterable<number>): number {
  let total = 0;
  for (const pid of pids) total += cpuSeconds(pid) ?? 0;
  return total;
}

/** Seconds the process's main thread has spent runnable but waiting for a CPU (/proc/<pid>/schedstat, 2nd field). */
function runQueueWait(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e9;
  } catch {
    return undefined;
  }
}

/** /proc/pressure/<resource> "some" total: microseconds in which at least one runnable task waited. */
function pressureTotal(resource: 'cpu' | 'io'): number | undefined {
  try {
    const match = /^some .*total=(\d+)$/m.exec(readFileSync(`/proc/pressure/${resource}`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The endpoint processes the servers started, killed by pid if still there when this process exits. */
const endpointPids = new Set<number>();
process.on('exit', () => {
  for (const pid of endpointPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

// ---------------------------------------------------------------------------------------
// HTTP

interface Endpoint {
  label: string;
  service: Service;
  host: string;
  port: number;
  path: string;
  agent: http.Agent;
}

function endpointOf(label: string, service: Service): Endpoint {
  const url = new URL(service.url);
  return { label, service, host: url.hostname, port: Number(url.port), path: url.pathname, agent: new http.Agent({ keepAlive: true, maxFreeSockets: 1024 }) };
}

interface Answer {
  status: number;
  text: string;
  /** request() to the end of the response. */
  ms: number;
  /** nowMs() when the response ended. */
  endedAt: number;
}

function post(endpoint: Endpoint, body: string, token: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const request = http.request(
      {
        agent: endpoint.agent,
        host: endpoint.host,
        port: endpoint.port,
        path: endpoint.path,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${token}` },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started, endedAt: nowMs() }),
        );
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

interface GraphQLBody<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** The data, or a short label of what went wrong (for the error counts). */
function readAnswer<T>(answer: Answer): { data: T } | { error: string; message: string } {
  let body: GraphQLBody<T>;
  try {
    body = JSON.parse(answer.text) as GraphQLBody<T>;
  } catch {
    return { error: `HTTP ${answer.status}`, message: answer.text.slice(0, 200) };
  }
  if (body.errors?.length || !body.data) {
    const first = body.errors?.[0];
    return { error: `HTTP ${answer.status} ${first?.extensions?.code ?? 'no data'}`, message: first?.message ?? answer.text.slice(0, 200) };
  }
  return { data: body.data };
}

const TYPENAME_BODY = JSON.stringify({ query: '{ __typename }' });
const HEARTBEAT_BODY = JSON.stringify({ query: 'mutation { sendHeartbeat(input: { status: READY }) { health nextDueAt } }' });

class ErrorCounts {
  readonly counts = new Map<string, number>();
  readonly examples = new Map<string, string>();
  add(label: string, message: string): void {
    this.counts.set(label, (this.counts.get(label) ?? 0) + 1);
    if (!this.examples.has(label)) this.examples.set(label, message);
  }
  get total(): number {
    let total = 0;
    for (const value of this.counts.values()) total += value;
    return total;
  }
  describe(): string {
    if (this.counts.size === 0) return 'none';
    return [...this.counts].map(([label, n]) => `${label} x${n} (e.g. "${this.examples.get(label)?.slice(0, 160)}")`).join('; ');
  }
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next];
      next += 1;
      await work(item);
    }
  });
  await Promise.all(lanes);
}

/**
 * An open-loop schedule: slot j at start + j * (1000 / n) ms, for deployment j mod n and step
 * floor(j / n), over `seconds`. `fire` gets how late the slot fired (this process's own lag).
 */
function openLoop(n: number, seconds: number, fire: (index: number, step: number, lateMs: number) => void): { startedAt: number; done: Promise<void> } {
  const spacing = INTERVAL_MS / n;
  const total = n * seconds;
  const startedAt = nowMs() + 20;
  let j = 0;
  const done = new Promise<void>((resolve) => {
    const tick = () => {
      for (;;) {
        const now = nowMs();
        if (j >= total || startedAt + j * spacing > now) break;
        fire(j % n, Math.floor(j / n), now - (startedAt + j * spacing));
        j += 1;
      }
      if (j >= total) return resolve();
      setTimeout(tick, Math.max(0, startedAt + j * spacing - nowMs()));
    };
    setTimeout(tick, Math.max(0, startedAt - nowMs()));
  });
  return { startedAt, done };
}

// ---------------------------------------------------------------------------------------
// The deployments

interface Deployment {
  index: number;
  id: string;
  token: string;
  /** The server it was created on (which runs its process). */
  owner: number;
  role: 'stopped' | 'kept-watched' | 'kept';
  /** The newest receipt's nextDueAt (epoch ms), from successful heartbeats only. */
  lastNextDue: number;
  /** When its first heartbeat of the load window answered HEALTHY (epoch ms). */
  firstHealthyAt: number;
  /** When its last heartbeat of the load window was sent (epoch ms), answered or not. */
  lastSentAt: number;
  /** Its heartbeats the server refused (or that failed) in the load window. */
  refused: number;
}

const CREATE = `mutation ($input: CreateDeploymentInput!) { createDeployment(input: $input) { deployment { id status } token } }`;
const COUNTS = `{
  waiting: deployments(filter: { status: [PENDING, PROVISIONING] }, first: 1) { totalCount }
  starting: deployments(filter: { status: [STARTING] }, first: 1) { totalCount }
  failed: deployments(filter: { status: [FAILED, STOPPED] }, first: 1) { totalCount }
}`;
const STOP = `mutation ($id: ID!) { stopDeployment(id: $id) { status } }`;
const HEALTH = `subscription ($id: ID!) { deploymentHealth(deploymentId: $id) { status health reason at } }`;

async function createDeployments(
  endpoints: Endpoint[],
  apiKey: string,
  count: number,
  rateLimit: number | undefined,
  createMs: number[],
): Promise<Deployment[]> {
  const deployments: Deployment[] = new Array<Deployment>(count);
  // Spread over the index range (so over the second) and alternating between the two owners.
  const every = Math.floor(count / STOPPED_COUNT);
  const stoppedIndexes = new Set(Array.from({ length: STOPPED_COUNT }, (_, q) => q * every + Math.floor(every / 2) + (q % 2)));
  const watchedIndexes = new Set(Array.from({ length: KEPT_WATCHED_COUNT }, (_, q) => q * every + Math.floor(every / 2) + (q % 2) - 1));
  const roleOf = (index: number): Deployment['role'] => (stoppedIndexes.has(index) ? 'stopped' : watchedIndexes.has(index) ? 'kept-watched' : 'kept');
  let created = 0;
  let lastReport = Date.now();
  await Promise.all(
    endpoints.map((endpoint, owner) =>
      eachLimited(
        Array.from({ length: count }, (_, index) => index).filter((index) => index % endpoints.length === owner),
        CREATE_CONCURRENCY_PER_SERVER,
        async (index) => {
          const started = performance.now();
          const data = await graphql<{ createDeployment: { deployment: { id: string; status: string }; token: string | null } }>(
            endpoint.service.url,
            CREATE,
            { input: { name: `hb-${index}`, heartbeatIntervalSeconds: INTERVAL_MS / 1000, ...(rateLimit ? { rateLimitPerMinute: rateLimit } : {}) } },
            apiKey,
          );
          createMs.push(performance.now() - started);
          const { deployment, token } = data.createDeployment;
          if (!token) throw new Error(`createDeployment answered no token for ${deployment.id}`);
          deployments[index] = { index, id: deployment.id, token, owner, role: roleOf(index), lastNextDue: 0, firstHealthyAt: 0, lastSentAt: 0, refused: 0 };
          created += 1;
          if (Date.now() - lastReport > 5000) {
            lastReport = Date.now();
            progress(`${created}/${count} deployments created`);
          }
        },
      ),
    ),
  );
  return deployments;
}

async function waitUntilStarting(endpoint: Endpoint, apiKey: string, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastReport = 0;
  for (;;) {
    const counts = await graphql<{ waiting: { totalCount: number }; starting: { totalCount: number }; failed: { totalCount: number } }>(
      endpoint.service.url,
      COUNTS,
      {},
      apiKey,
    );
    if (counts.failed.totalCount > 0) {
      throw new Error(`${counts.failed.totalCount} deployment(s) FAILED or STOPPED while starting:\n${endpoint.service.output().slice(-3000)}`);
    }
    if (counts.starting.totalCount === count) return;
    if (Date.now() > deadline)
      throw new Error(
        `after ${timeoutMs / 1000} s only ${counts.starting.totalCount}/${count} deployments are STARTING (${counts.waiting.totalCount} still on the way)`,
      );
    if (Date.now() - lastReport > 5000) {
      lastReport = Date.now();
      progress(`${counts.starting.totalCount}/${count} deployments STARTING`);
    }
    await sleep(500);
  }
}

// ---------------------------------------------------------------------------------------
// Database-side observations (a connection of the bench's own)

interface DatabaseCounters {
  xactCommit: number;
  tupFetched: number;
  tupUpdated: number;
  tupInserted: number;
  deploymentUpdates: number;
  deploymentHotUpdates: number;
  deploymentSeqScans: number;
  deploymentIndexScans: number;
  deploymentDeadTuples: number;
}

async function databaseCounters(client: PgClient): Promise<DatabaseCounters> {
  const database = await client.query<{ xact_commit: string; tup_fetched: string; tup_updated: string; tup_inserted: string }>(
    `SELECT xact_commit, tup_fetched, tup_updated, tup_inserted FROM pg_stat_database WHERE datname = current_database()`,
  );
  const table = await client.query<{ n_tup_upd: string; n_tup_hot_upd: string; seq_scan: string; idx_scan: string | null; n_dead_tup: string }>(
    `SELECT n_tup_upd, n_tup_hot_upd, seq_scan, idx_scan, n_dead_tup FROM pg_stat_user_tables WHERE relname = 'deployments'`,
  );
  const d = database.rows[0];
  const t = table.rows[0];
  return {
    xactCommit: Number(d.xact_commit),
    tupFetched: Number(d.tup_fetched),
    tupUpdated: Number(d.tup_updated),
    tupInserted: Number(d.tup_inserted),
    deploymentUpdates: Number(t.n_tup_upd),
    deploymentHotUpdates: Number(t.n_tup_hot_upd),
    deploymentSeqScans: Number(t.seq_scan),
    deploymentIndexScans: Number(t.idx_scan ?? 0),
    deploymentDeadTuples: Number(t.n_dead_tup),
  };
}

/** The PostgreSQL backends serving this database, except the given ones (the bench's own). */
async function backendPids(client: PgClient, except: number[]): Promise<number[]> {
  const result = await client.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND NOT (pid = ANY($1::int[]))`, [
    except,
  ]);
  return result.rows.map((row) => row.pid);
}

async function backendPid(client: PgClient): Promise<number> {
  return (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
}

/** Records each start of the health sweep (periodic_tasks.last_started_at, epoch ms) while it runs. */
class SweepWatch {
  readonly starts: { at: number; worker: string }[] = [];
  private timer?: NodeJS.Timeout;
  private busy = false;

  constructor(private readonly client: PgClient) {}

  start(): void {
    this.timer = setInterval(() => void this.poll(), SWEEP_POLL_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async poll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const result = await this.client.query<{ at: string; worker: string }>(
        `SELECT (extract(epoch FROM last_started_at) * 1000)::float8 AS at, last_worker AS worker FROM periodic_tasks WHERE name = 'deployment-health'`,
      );
      const row = result.rows[0];
      if (row) {
        const at = Number(row.at);
        if (this.starts.length === 0 || this.starts[this.starts.length - 1].at !== at) this.starts.push({ at, worker: row.worker });
      }
    } finally {
      this.busy = false;
    }
  }

  between(from: number, to: number): { at: number; worker: string }[] {
    return this.starts.filter((start) => start.at >= from && start.at <= to);
  }
}

async function explain(client: PgClient, sql: string, parameters: unknown[] = []): Promise<{ executionMs: number; planningMs: number; plan: string[] }> {
  const result = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, parameters);
  const lines = result.rows.map((row) => row['QUERY PLAN']);
  const number = (label: string) => Number(new RegExp(`${label}: ([\\d.]+) ms`).exec(lines.join('\n'))?.[1] ?? Number.NaN);
  return { executionMs: number('Execution Time'), planningMs: number('Planning Time'), plan: lines };
}

/**
 * From a connection of the bench's own, 10 times a second each: the heartbeat's SELECT (by id, on
 * a deployment that keeps heartbeating) and an autocommit UPDATE of a scratch row of the same
 * kind (a jsonb column; its commit waits for the WAL flush like a heartbeat's does). What the
 * database alone costs a heartbeat, under the same load, without the servers.
 */
interface ProbeSamples {
  select: number[];
  commit: number[];
  /** SELECT then UPDATE, as a heartbeat runs them now. */
  pair: number[];
  /** When each iteration ended (epoch ms). */
  at: number[];
}

class DatabaseProbe {
  constructor(
    private readonly client: PgClient,
    private readonly deploymentId: string,
  ) {}

  static async create(client: PgClient, deploymentId: string): Promise<DatabaseProbe> {
    await client.query('CREATE TABLE bench_probe (id int PRIMARY KEY, at timestamptz, body jsonb)');
    await client.query(`INSERT INTO bench_probe VALUES (1, now(), '{}')`);
    return new DatabaseProbe(client, deploymentId);
  }

  start(): () => Promise<ProbeSamples> {
    const select: number[] = [];
    const commit: number[] = [];
    const pair: number[] = [];
    const at: number[] = [];
    let running = true;
    const body = JSON.stringify({ at: new Date().toISOString(), status: 'READY', latencyMs: null, version: null, details: null });
    const loop = (async () => {
      while (running) {
        const started = performance.now();
        await this.client.query('SELECT * FROM deployments WHERE id = $1 LIMIT 1', [this.deploymentId]);
        select.push(performance.now() - started);
        const selected = performance.now();
        await this.client.query('UPDATE bench_probe SET at = now(), body = $1::jsonb WHERE id = 1', [body]);
        commit.push(performance.now() - selected);
        pair.push(performance.now() - started);
        at.push(nowMs());
        await sleep(100);
      }
    })();
    return async () => {
      running = false;
      await loop;
      return { select, commit, pair, at };
    };
  }
}

// ---------------------------------------------------------------------------------------
// Windows of measurement

interface ResourceWindow {
  seconds: number;
  servers: { cpu?: number; rss?: number; probe?: ProbeReport; runQueueWait?: number }[];
  postgresCpu: number;
  /** Summed over the backends: seconds spent runnable but waiting for a CPU, per second. */
  postgresRunQueueWait: number;
  postgresBackends: number;
  /** /proc/pressure: share of the window in which some runnable task waited for a CPU (or for IO). */
  cpuPressure?: number;
  ioPressure?: number;
  /** This bench's own connection: the heartbeat's SELECT, and an autocommit UPDATE of a scratch row (a commit, WAL flush included). */
  probe: ProbeSamples;
  endpointCpu: number;
  benchCpu: number;
  benchLoopP99: number;
  benchLoopMax: number;
  counters: { before: DatabaseCounters; after: DatabaseCounters };
}

/** Starts measuring CPU, event loops and database counters; the function returned ends the window. */
async function openWindow(endpoints: Endpoint[], stats: PgClient, ownBackends: number[], probe: DatabaseProbe): Promise<() => Promise<ResourceWindow>> {
  const closeProbes = endpoints.map((endpoint) => openProbeWindow(endpoint.service));
  const serverCpu = endpoints.map((endpoint) => cpuSeconds(endpoint.service.child.pid));
  const serverWait = endpoints.map((endpoint) => runQueueWait(endpoint.service.child.pid));
  const backends = await backendPids(stats, ownBackends);
  const backendCpu = new Map(backends.map((pid) => [pid, cpuSeconds(pid) ?? 0]));
  const backendWait = new Map(backends.map((pid) => [pid, runQueueWait(pid) ?? 0]));
  const cpuPressure = pressureTotal('cpu');
  const ioPressure = pressureTotal('io');
  const stopProbe = probe.start();
  const endpointCpu = totalCpu(endpointPids);
  const benchCpu = process.cpuUsage();
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const before = await databaseCounters(stats);
  const started = nowMs();
  return async () => {
    const seconds = (nowMs() - started) / 1000;
    const after = await databaseCounters(stats);
    loop.disable();
    const bench = process.cpuUsage(benchCpu);
    const endpointCpuAfter = totalCpu(endpointPids);
    const backendsAfter = await backendPids(stats, ownBackends);
    // A backend that appeared during the window: all its CPU time is counted (it started in the window).
    let postgresCpu = 0;
    let postgresWait = 0;
    for (const pid of backendsAfter) {
      postgresCpu += (cpuSeconds(pid) ?? 0) - (backendCpu.get(pid) ?? 0);
      postgresWait += (runQueueWait(pid) ?? 0) - (backendWait.get(pid) ?? 0);
    }
    const cpuPressureAfter = pressureTotal('cpu');
    const ioPressureAfter = pressureTotal('io');
    const probed = await stopProbe();
    const probes = await Promise.all(closeProbes.map((close) => close().catch(() => undefined)));
    return {
      seconds,
      servers: endpoints.map((endpoint, i) => {
        const cpuAfter = cpuSeconds(endpoint.service.child.pid);
        const cpuBefore = serverCpu[i];
        const waitAfter = runQueueWait(endpoint.service.child.pid);
        const waitBefore = serverWait[i];
        return {
          cpu: cpuAfter !== undefined && cpuBefore !== undefined ? (cpuAfter - cpuBefore) / seconds : undefined,
          runQueueWait: waitAfter !== undefined && waitBefore !== undefined ? (waitAfter - waitBefore) / seconds : undefined,
          rss: rssBytes(endpoint.service.child.pid),
          probe: probes[i],
        };
      }),
      postgresCpu: postgresCpu / seconds,
      postgresRunQueueWait: postgresWait / seconds,
      postgresBackends: backendsAfter.length,
      cpuPressure: cpuPressure !== undefined && cpuPressureAfter !== undefined ? (cpuPressureAfter - cpuPressure) / 1e6 / seconds : undefined,
      ioPressure: ioPressure !== undefined && ioPressureAfter !== undefined ? (ioPressureAfter - ioPressure) / 1e6 / seconds : undefined,
      probe: probed,
      endpointCpu: (endpointCpuAfter - endpointCpu) / seconds,
      benchCpu: (bench.user + bench.system) / 1e6 / seconds,
      benchLoopP99: Math.max(0, loop.percentile(99) / 1e6 - 1),
      benchLoopMax: Math.max(0, loop.max / 1e6 - 1),
      counters: { before, after },
    };
  };
}

// ---------------------------------------------------------------------------------------
// Phases

interface HealthEvent {
  deployment: Deployment;
  server: number;
  status: string;
  health: string;
  reason: string;
  /** The server's time of the change (epoch ms). */
  at: number;
  arrivedAt: number;
}

async function connectWs(endpoint: Endpoint, apiKey: string): Promise<WsClient> {
  return new Promise<WsClient>((resolve, reject) => {
    const client: WsClient = createClient({
      url: endpoint.service.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${apiKey}` },
      lazy: false,
      retryAttempts: 0,
      keepAlive: 0,
      onNonLazyError: (error) => reject(new Error(`graphql-ws to ${endpoint.label} could not connect: ${JSON.stringify(error)}`)),
      on: { connected: () => resolve(client) },
    });
  });
}

interface Warmup {
  ms: number[];
  errors: ErrorCounts;
  firstAt: number;
  lastAt: number;
}

async function warmUp(endpoints: Endpoint[], deployments: Deployment[]): Promise<Warmup> {
  const result: Warmup = { ms: [], errors: new ErrorCounts(), firstAt: nowMs(), lastAt: 0 };
  let done = 0;
  let lastReport = Date.now();
  await Promise.all(
    endpoints.map((endpoint) =>
      eachLimited(deployments, WARMUP_CONCURRENCY_PER_SERVER, async (deployment) => {
        for (let attempt = 0; ; attempt += 1) {
          const answer = await post(endpoint, TYPENAME_BODY, deployment.token);
          const read = readAnswer<{ __typename: string }>(answer);
          if ('data' in read) {
            result.ms.push(answer.ms);
            result.lastAt = answer.endedAt;
            break;
          }
          result.errors.add(read.error, read.message);
          if (attempt >= 5) throw new Error(`warm-up: ${endpoint.label} keeps refusing ${deployment.id}'s token: ${read.error} ${read.message}`);
          await sleep(1000);
        }
        done += 1;
        if (Date.now() - lastReport > 5000) {
          lastReport = Date.now();
          progress(`warm-up: ${done}/${deployments.length * endpoints.length} first requests with a token`);
        }
      }),
    ),
  );
  return result;
}

interface Baseline {
  ms: number[];
  perServer: number[][];
  errors: ErrorCounts;
  lateMs: number[];
  completed: number;
  seconds: number;
  resources: ResourceWindow;
}

async function baselinePhase(
  endpoints: Endpoint[],
  deployments: Deployment[],
  seconds: number,
  stats: PgClient,
  own: number[],
  probe: DatabaseProbe,
): Promise<Baseline> {
  const result = { ms: [] as number[], perServer: endpoints.map(() => [] as number[]), errors: new ErrorCounts(), lateMs: [] as number[], completed: 0 };
  const inFlight = new Set<Promise<void>>();
  const close = await openWindow(endpoints, stats, own, probe);
  const loop = openLoop(deployments.length, seconds, (index, step, lateMs) => {
    const server = (index + step) % endpoints.length;
    result.lateMs.push(lateMs);
    const request = post(endpoints[server], TYPENAME_BODY, deployments[index].token).then(
      (answer) => {
        const read = readAnswer<{ __typename: string }>(answer);
        if ('data' in read) {
          result.ms.push(answer.ms);
          result.perServer[server].push(answer.ms);
          result.completed += 1;
        } else result.errors.add(read.error, read.message);
      },
      (error: unknown) => result.errors.add(`network ${(error as NodeJS.ErrnoException).code ?? 'error'}`, (error as Error).message),
    );
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  });
  await loop.done;
  await Promise.all([...inFlight]);
  const resources = await close();
  return { ...result, seconds: (nowMs() - loop.startedAt) / 1000, resources };
}

interface Load {
  startedAt: number;
  endedAt: number;
  stopAt: number;
  steady: number[];
  /** Per steady heartbeat: the second of the window it was sent in. */
  steadySecond: number[];
  steadyPerServer: number[][];
  first: number[];
  errors: ErrorCounts;
  /** Answers that came back with another health than HEALTHY (steady part). */
  notHealthy: number;
  lateMs: number[];
  steadyCompleted: number;
  steadySeconds: number;
  sent: number;
  completed: number;
  /** { __typename } with a token, REFERENCE_PER_SECOND a second during the heartbeats (steady part). */
  reference: number[];
  referenceErrors: ErrorCounts;
  resources: ResourceWindow;
}

async function loadPhase(
  endpoints: Endpoint[],
  deployments: Deployment[],
  options: Options,
  stats: PgClient,
  own: number[],
  probe: DatabaseProbe,
  onStop: (at: number) => void,
): Promise<Load> {
  const steady: number[] = [];
  const steadySecond: number[] = [];
  const steadyPerServer = endpoints.map(() => [] as number[]);
  const first: number[] = [];
  const errors = new ErrorCounts();
  const lateMs: number[] = [];
  let notHealthy = 0;
  let steadyCompleted = 0;
  let sent = 0;
  let completed = 0;
  const inFlight = new Set<Promise<void>>();
  const close = await openWindow(endpoints, stats, own, probe);
  let stopAt = Number.POSITIVE_INFINITY;
  let stopAnnounced = false;
  const loop = openLoop(deployments.length, options.durationSeconds, (index, step, late) => {
    const scheduledAt = loop.startedAt + step * INTERVAL_MS + (index * INTERVAL_MS) / deployments.length;
    if (!stopAnnounced && scheduledAt >= stopAt) {
      stopAnnounced = true;
      onStop(stopAt);
    }
    const deployment = deployments[index];
    if (deployment.role === 'stopped' && scheduledAt >= stopAt) return;
    const server = (index + step) % endpoints.length;
    lateMs.push(late);
    sent += 1;
    deployment.lastSentAt = nowMs();
    const request = post(endpoints[server], HEARTBEAT_BODY, deployment.token).then(
      (answer) => {
        const read = readAnswer<{ sendHeartbeat: { health: string; nextDueAt: string } }>(answer);
        if (!('data' in read)) {
          errors.add(read.error, read.message);
          deployment.refused += 1;
          return;
        }
        completed += 1;
        const receipt = read.data.sendHeartbeat;
        deployment.lastNextDue = Math.max(deployment.lastNextDue, Date.parse(receipt.nextDueAt));
        if (step === 0) {
          first.push(answer.ms);
          if (receipt.health === 'HEALTHY') deployment.firstHealthyAt = answer.endedAt;
        } else if (step >= STEADY_FROM_STEP) {
          steady.push(answer.ms);
          steadySecond.push(step);
          steadyPerServer[server].push(answer.ms);
          steadyCompleted += 1;
          if (receipt.health !== 'HEALTHY') notHealthy += 1;
        }
        if (receipt.health === 'HEALTHY' && deployment.firstHealthyAt === 0) deployment.firstHealthyAt = answer.endedAt;
      },
      (error: unknown) => {
        errors.add(`network ${(error as NodeJS.ErrnoException).code ?? 'error'}`, (error as Error).message);
        deployment.refused += 1;
      },
    );
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  });
  stopAt = loop.startedAt + options.stopAtSeconds * 1000;
  // The reference, in the same window: { __typename } with the tokens of deployments that keep on, REFERENCE_PER_SECOND a second.
  const keepers = deployments.filter((deployment) => deployment.role !== 'stopped');
  const reference: number[] = [];
  const referenceErrors = new ErrorCounts();
  const referenceLoop = openLoop(REFERENCE_PER_SECOND, options.durationSeconds, (index, step) => {
    const deployment = keepers[(index * 7 + step * REFERENCE_PER_SECOND) % keepers.length];
    const server = (index + step) % endpoints.length;
    const request = post(endpoints[server], TYPENAME_BODY, deployment.token).then(
      (answer) => {
        const read = readAnswer<{ __typename: string }>(answer);
        if (!('data' in read)) referenceErrors.add(read.error, read.message);
        else if (step >= STEADY_FROM_STEP) reference.push(answer.ms);
      },
      (error: unknown) => referenceErrors.add(`network ${(error as NodeJS.ErrnoException).code ?? 'error'}`, (error as Error).message),
    );
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  });
  await Promise.all([loop.done, referenceLoop.done]);
  const endedAt = loop.startedAt + options.durationSeconds * 1000;
  await Promise.all([...inFlight]);
  const resources = await close();
  return {
    startedAt: loop.startedAt,
    endedAt,
    stopAt,
    steady,
    steadySecond,
    steadyPerServer,
    first,
    errors,
    notHealthy,
    lateMs,
    steadyCompleted,
    steadySeconds: options.durationSeconds - STEADY_FROM_STEP,
    sent,
    completed,
    reference,
    referenceErrors,
    resources,
  };
}

async function stopAll(endpoints: Endpoint[], deployments: Deployment[], apiKey: string): Promise<{ seconds: number; errors: ErrorCounts }> {
  const errors = new ErrorCounts();
  const started = nowMs();
  let stoppedOk = 0;
  await Promise.all(
    endpoints.map((endpoint, owner) =>
      eachLimited(
        deployments.filter((deployment) => deployment.owner === owner),
        STOP_CONCURRENCY_PER_SERVER,
        async (deployment) => {
          // Refused again and again (the API key locked out): the servers stop their deployments when they shut down.
          if (stoppedOk === 0 && errors.total >= 10) return;
          try {
            await graphql(endpoint.service.url, STOP, { id: deployment.id }, apiKey);
            stoppedOk += 1;
          } catch (error) {
            errors.add('stopDeployment', (error as Error).message);
          }
        },
      ),
    ),
  );
  return { seconds: (nowMs() - started) / 1000, errors };
}

// ---------------------------------------------------------------------------------------
// Report

function percent(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '-' : `${Math.round(value * 100)}%`;
}

function row(label: string, s: Summary, target: Target): string[] {
  return [label, s.n.toLocaleString('en-US'), ms(s.p50), ms(s.p90), ms(s.p99), ms(s.max), target.label, verdict(target)];
}

function perSecond(before: number, after: number, seconds: number): number {
  return (after - before) / seconds;
}

interface EndpointProcesses {
  count: number;
  rssMean: number;
  ussMean: number;
  pssTotal: number;
  startupCpuMean: number;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const build = ensureBuilt();
  printHeader('heartbeats', DESCRIPTION, [
    ['build', build],
    ['load', loadAverage()],
    ['scenario', `${options.deployments} deployments, ${options.durationSeconds} s of heartbeats, ${STOPPED_COUNT} stop at ${options.stopAtSeconds} s`],
  ]);
  const unreachable = await postgresReachable(options.postgresUrl);
  if (unreachable) {
    console.log(`skipped: this benchmark needs PostgreSQL and cannot reach ${options.postgresUrl}: ${unreachable}`);
    console.log('(set MP_BENCH_POSTGRES_URL or pass --postgres-url to point it at one)');
    return;
  }
  const templatesDir = writeTemplate();
  const database = await createPostgresDatabase(options.postgresUrl);
  const notes: string[] = [];
  try {
    const env = childEnv({
      DATABASE_URL: database.url,
      MP_DATA_DIR: temporaryDirectory('heartbeats-data'),
      MP_SIGNING_SECRET: randomBytes(32).toString('hex'),
      PORT: '0',
      HOST: '127.0.0.1',
      MP_LOG_LEVEL: 'warn',
      MP_TEMPLATES_DIR: templatesDir,
      // All of them belong to one vendor.
      MP_LOCAL_DEPLOYMENTS_PER_VENDOR: String(options.deployments),
    });
    progress(`database ${database.name}: migrate, vendor create`);
    await serverCommand(['migrate'], env);
    const vendor = await createVendor(env);
    progress('starting servers A and B');
    const services = await Promise.all([startServer('server A', env, ['--require', SERVER_PROBE]), startServer('server B', env, ['--require', SERVER_PROBE])]);
    const endpoints = services.map((service, i) => endpointOf(i === 0 ? 'A' : 'B', service));
    const serverPids = new Set(services.map((service) => service.child.pid).filter((pid): pid is number => pid !== undefined));
    const stats = new PgClient({ connectionString: database.url });
    const poller = new PgClient({ connectionString: database.url });
    const prober = new PgClient({ connectionString: database.url });
    await stats.connect();
    await poller.connect();
    await prober.connect();
    const own = [await backendPid(stats), await backendPid(poller), await backendPid(prober)];
    const sweeps = new SweepWatch(poller);
    let deployments: Deployment[] = [];
    const wsClients: WsClient[] = [];
    try {
      // Setup
      progress(`creating ${options.deployments} deployments (half on each server)`);
      const createMs: number[] = [];
      const setupStarted = nowMs();
      deployments = await createDeployments(endpoints, vendor.apiKey, options.deployments, options.rateLimit, createMs);
      await waitUntilStarting(endpoints[0], vendor.apiKey, options.deployments, 300_000);
      const setupSeconds = (nowMs() - setupStarted) / 1000;
      await sleep(1000);
      for (const pid of childrenOf(serverPids)) endpointPids.add(pid);
      const memories = [...endpointPids].map(memoryOf).filter((memory): memory is Memory => memory !== undefined);
      const processes: EndpointProcesses = {
        count: endpointPids.size,
        rssMean: memories.reduce((sum, memory) => sum + memory.rss, 0) / Math.max(1, memories.length),
        ussMean: memories.reduce((sum, memory) => sum + memory.uss, 0) / Math.max(1, memories.length),
        pssTotal: memories.reduce((sum, memory) => sum + memory.pss, 0),
        startupCpuMean: totalCpu(endpointPids) / Math.max(1, endpointPids.size),
      };
      if (processes.count !== options.deployments) notes.push(`found ${processes.count} endpoint processes for ${options.deployments} deployments`);
      progress(
        `${options.deployments} STARTING after ${setupSeconds.toFixed(1)} s; ${processes.count} endpoint processes, ${mib(processes.pssTotal)} PSS in all; load ${loadAverage()}`,
      );

      // Subscriptions
      const events: HealthEvent[] = [];
      const watched = deployments.filter((deployment) => deployment.role !== 'kept');
      for (const [server, endpoint] of endpoints.entries()) {
        const client = await connectWs(endpoint, vendor.apiKey);
        wsClients.push(client);
        for (const deployment of watched) {
          client.subscribe<{ deploymentHealth: { status: string; health: string; reason: string; at: string } }>(
            { query: HEALTH, variables: { id: deployment.id } },
            {
              next: (message) => {
                const event = message.data?.deploymentHealth;
                if (event) events.push({ deployment, server, ...event, at: Date.parse(event.at), arrivedAt: nowMs() });
              },
              error: (error) => notes.push(`deploymentHealth(${deployment.id}) on ${endpoint.label} failed: ${JSON.stringify(error).slice(0, 300)}`),
              complete: () => undefined,
            },
          );
          await sleep(20);
        }
      }
      await sleep(500);

      // Idle: no requests; the sweeps, the schedule's claims and this bench's pollers (the database's background).
      const probe = await DatabaseProbe.create(prober, deployments.find((deployment) => deployment.role === 'kept')!.id);
      sweeps.start();
      await sleep(Math.max(0, setupStarted + setupSeconds * 1000 + (MISSED + 1) * INTERVAL_MS - nowMs()));
      progress('idle window: 3 s without requests');
      const closeIdle = await openWindow(endpoints, stats, own, probe);
      await sleep(3000);
      const idle = await closeIdle();

      // Warm-up: every token once on every server (argon2id), then it is cached there.
      progress(`warm-up: one { __typename } per token on each server`);
      const warmup = await warmUp(endpoints, deployments);
      progress(`baseline: { __typename } with the tokens, ${options.deployments}/s for ${options.baselineSeconds} s`);
      const baseline = await baselinePhase(endpoints, deployments, options.baselineSeconds, stats, own, probe);

      progress(`load: sendHeartbeat, ${options.deployments}/s for ${options.durationSeconds} s; ${STOPPED_COUNT} go silent at ${options.stopAtSeconds} s`);
      const load = await loadPhase(endpoints, deployments, options, stats, own, probe, () =>
        progress(`t=${options.stopAtSeconds} s: ${STOPPED_COUNT} deployments stop heartbeating`),
      );
      sweeps.stop();
      const tokenCacheFirstExpiry = warmup.firstAt + TOKEN_CACHE_TTL_MS;

      // History of every deployment that kept heartbeating (read right away, before their legitimate flips).
      const historyRows = await stats.query<{ id: string; history: { at: string; health: string; status: string; reason: string }[] }>(
        'SELECT id, history FROM deployments',
      );
      const byId = new Map(deployments.map((deployment) => [deployment.id, deployment]));
      // A deployment that kept sending heartbeats, turned UNHEALTHY after its first HEALTHY and before its last heartbeat sent + 3 intervals.
      const falseFlip = (deployment: Deployment, at: number) =>
        deployment.firstHealthyAt > 0 && at > deployment.firstHealthyAt - 50 && at < deployment.lastSentAt + MISSED * INTERVAL_MS;
      const falseFlipsInHistory: string[] = [];
      for (const stored of historyRows.rows) {
        const deployment = byId.get(stored.id);
        if (!deployment || deployment.role === 'stopped') continue;
        for (const event of stored.history) {
          const at = Date.parse(event.at);
          if (event.health === 'UNHEALTHY' && falseFlip(deployment, at)) {
            falseFlipsInHistory.push(
              `${deployment.id} at +${((at - load.startedAt) / 1000).toFixed(2)} s: ${event.reason}${deployment.refused ? ` (${deployment.refused} of its heartbeats refused)` : ''}`,
            );
          }
        }
      }
      const neverHealthy = deployments.filter((deployment) => deployment.firstHealthyAt === 0).length;
      if (neverHealthy > 0) notes.push(`${neverHealthy} deployment(s) never answered HEALTHY during the load window`);

      // EXPLAIN the sweep and a heartbeat's statements, as the server runs them, on the live table.
      const sweepPlan = await explain(
        stats,
        `SELECT d.* FROM deployments d WHERE d.status IN ('STARTING', 'RUNNING') AND d.health <> 'UNHEALTHY'
           AND COALESCE(d.last_heartbeat_at, d.started_at, d.updated_at) < now() - make_interval(secs => d.heartbeat_interval_seconds * ${MISSED})`,
      );
      const sample = deployments.find((deployment) => deployment.role === 'kept')!;
      const selectPlan = await explain(stats, 'SELECT * FROM deployments WHERE id = $1 LIMIT 1', [sample.id]);
      await stats.query('BEGIN');
      const updatePlan = await explain(stats, `UPDATE deployments SET last_heartbeat_at = now(), last_heartbeat = $2::jsonb WHERE id = $1`, [
        sample.id,
        JSON.stringify({ at: new Date().toISOString(), status: 'READY', latencyMs: null, version: null, details: null }),
      ]);
      await stats.query('ROLLBACK');
      const tableSize = (
        await stats.query<{ size: string; rows: string }>(
          `SELECT pg_size_pretty(pg_total_relation_size('deployments')) AS size, (SELECT count(*) FROM deployments)::text AS rows`,
        )
      ).rows[0];

      // Flips
      const stoppedOnes = deployments.filter((deployment) => deployment.role === 'stopped');
      const flip: number[] = [];
      const flipServer: number[] = [];
      const waitForSweep: number[] = [];
      const sweepToEvent: number[] = [];
      const delivery: number[] = [];
      const missing: string[] = [];
      const flipLines: string[] = [];
      for (const deployment of stoppedOnes) {
        const due3 = deployment.lastNextDue + (MISSED - 1) * INTERVAL_MS;
        const sweep = sweeps.starts.find((start) => start.at >= due3);
        let serverSideCounted = false;
        for (const [server, endpoint] of endpoints.entries()) {
          const event = events.find(
            (candidate) =>
              candidate.deployment === deployment && candidate.server === server && candidate.health === 'UNHEALTHY' && candidate.at >= load.stopAt,
          );
          if (!event) {
            missing.push(`${deployment.id} on ${endpoint.label}`);
            continue;
          }
          flip.push(event.arrivedAt - due3);
          delivery.push(event.arrivedAt - event.at);
          if (!serverSideCounted) {
            serverSideCounted = true;
            flipServer.push(event.at - due3);
            if (sweep && sweep.at <= event.at) {
              waitForSweep.push(sweep.at - due3);
              sweepToEvent.push(event.at - sweep.at);
            }
            flipLines.push(
              `${deployment.id}: 3rd miss at +${((due3 - load.startedAt) / 1000).toFixed(3)} s, sweep started +${sweep ? ((sweep.at - due3) / 1000).toFixed(3) : '?'} s after it, event at +${((event.at - due3) / 1000).toFixed(3)} s`,
            );
          }
        }
      }
      const falseFlipsWatched = events.filter(
        (event) => event.deployment.role === 'kept-watched' && event.health === 'UNHEALTHY' && falseFlip(event.deployment, event.at),
      );
      const healthySeen = new Set(
        events.filter((event) => event.health === 'HEALTHY' && event.at >= load.startedAt - 100).map((event) => `${event.deployment.id}/${event.server}`),
      );
      const sweepStarts = sweeps.between(load.startedAt, load.endedAt);
      const sweepGaps = sweepStarts.slice(1).map((start, i) => start.at - sweepStarts[i].at);
      const sweepWorkers = new Set(sweepStarts.map((start) => start.worker)).size;
      // Over the window, the share of moments at which a 3rd miss would wait more than one interval for the next sweep.
      const gapTotal = sweepGaps.reduce((sum, gap) => sum + gap, 0);
      const lateShare = sweepGaps.reduce((sum, gap) => sum + Math.max(0, gap - INTERVAL_MS), 0) / Math.max(1, gapTotal);

      // ---- Report
      const hb = summarize(load.steady);
      const base = summarize(baseline.ms);
      const flipSummary = summarize(flip);
      console.log(
        `Setup: ${options.deployments} LOCAL deployments created in ${setupSeconds.toFixed(1)} s (${CREATE_CONCURRENCY_PER_SERVER} at a time per server) until all were STARTING.`,
      );
      console.log(
        `Heartbeats: ${options.deployments}/s planned, deployment i at +i/${options.deployments} s each second, alternating servers; steady = heartbeats ${STEADY_FROM_STEP + 1}.. (${options.durationSeconds - STEADY_FROM_STEP} s).`,
      );
      console.log(
        `Baseline: { __typename } with the same tokens, same rate and spacing, ${options.baselineSeconds} s, before the load (no heartbeats then): the same HTTP, authentication and per-request work, no resolver.`,
      );
      console.log('');
      printTable(
        ['figure', 'n', 'p50', 'p90', 'p99', 'max', 'target', ''],
        [
          row('sendHeartbeat, steady', hb, below(hb.p99, 50, 'p99 < 50 ms')),
          row('  on server A', summarize(load.steadyPerServer[0]), info('')),
          row('  on server B', summarize(load.steadyPerServer[1]), info('')),
          row('baseline { __typename }, same rate', base, info('(reference)')),
          row('  on server A', summarize(baseline.perServer[0]), info('')),
          row('  on server B', summarize(baseline.perServer[1]), info('')),
          row(`{ __typename } beside the heartbeats, ${REFERENCE_PER_SECOND}/s`, summarize(load.reference), info('(reference)')),
          row('1st sendHeartbeat (STARTING -> RUNNING)', summarize(load.first), info('')),
          row('1st request with a token, per server (argon2id)', summarize(warmup.ms), info('')),
          row('createDeployment', summarize(createMs), info('')),
          row('flip: 3rd missed beat -> UNHEALTHY at subscriber', flipSummary, below(flipSummary.max, 1000, 'max < 1 s')),
          row('  -> change recorded by the server (event at)', summarize(flipServer), info('')),
          row('  wait for the next sweep to start', summarize(waitForSweep), info('')),
          row('  sweep start -> change recorded', summarize(sweepToEvent), info('')),
          row('  change recorded -> at subscriber', summarize(delivery), info('')),
          row('health sweep: start to start', summarize(sweepGaps), info(`${sweepStarts.length} sweeps by ${sweepWorkers} process(es)`)),
          row('DB alone, during heartbeats: SELECT by id', summarize(load.resources.probe.select), info('')),
          row('  autocommit UPDATE (a commit)', summarize(load.resources.probe.commit), info('')),
          row('  SELECT, then UPDATE (as a heartbeat)', summarize(load.resources.probe.pair), info('')),
          row('DB alone, during baseline: SELECT, then UPDATE', summarize(baseline.resources.probe.pair), info('')),
          row('bench lateness sending heartbeats', summarize(load.lateMs), info('')),
        ],
        [1, 2, 3, 4, 5],
      );
      console.log('');
      const achieved = load.steadyCompleted / load.steadySeconds;
      const falseFlips = falseFlipsWatched.length + falseFlipsInHistory.length;
      const counts: [string, string, Target][] = [
        [
          'heartbeats/s achieved (steady, answered OK)',
          `${achieved.toFixed(1)} of ${options.deployments} planned (${STOPPED_COUNT} stop at ${options.stopAtSeconds} s)`,
          info(''),
        ],
        ['heartbeat errors (whole window)', `${load.errors.total} of ${load.sent} sent`, { label: '0', met: load.errors.total === 0 }],
        ['steady answers not HEALTHY', String(load.notHealthy), { label: '0', met: load.notHealthy === 0 }],
        ['baseline requests/s achieved', `${(baseline.completed / baseline.seconds).toFixed(1)}; errors ${baseline.errors.total}`, info('')],
        [
          'false flips: watched (subscriptions) / all that kept beating (history)',
          `${falseFlipsWatched.length} / ${falseFlipsInHistory.length} (on ${new Set(falseFlipsInHistory.map((line) => line.split(' ')[0])).size} deployments)`,
          { label: '0', met: falseFlips === 0 },
        ],
        [
          'stopped deployments flipped (per server subscription)',
          `${flip.length}/${STOPPED_COUNT * endpoints.length}`,
          { label: `${STOPPED_COUNT * endpoints.length}`, met: missing.length === 0 },
        ],
        ['subscriptions live (saw the HEALTHY of the 1st beat)', `${healthySeen.size}/${watched.length * endpoints.length}`, info('')],
      ];
      printTable(
        ['count', 'value', 'target', ''],
        counts.map(([label, value, target]) => [label, value, target.label, verdict(target)]),
      );
      console.log('');
      const resourceRows: string[][] = [];
      const windows: [string, ResourceWindow][] = [
        ['idle', idle],
        ['baseline', baseline.resources],
        ['heartbeats', load.resources],
      ];
      const waited = (seconds: number | undefined) => (seconds === undefined ? '-' : `${Math.round(seconds * 1000)} ms/s`);
      for (const [name, window] of windows) {
        for (const [i, server] of window.servers.entries()) {
          resourceRows.push([
            name,
            `server ${endpoints[i].label}`,
            percent(server.cpu),
            waited(server.runQueueWait),
            server.rss === undefined ? '-' : mib(server.rss),
            server.probe ? `${ms(server.probe.eventLoopDelay.p99)} / ${ms(server.probe.eventLoopDelay.max)}` : '-',
          ]);
        }
        resourceRows.push([
          name,
          `PostgreSQL (${window.postgresBackends} backends of this database)`,
          percent(window.postgresCpu),
          waited(window.postgresRunQueueWait),
          '-',
          '-',
        ]);
        resourceRows.push([name, `${processes.count} endpoint processes (all together)`, percent(window.endpointCpu), '-', '-', '-']);
        resourceRows.push([
          name,
          'this benchmark',
          percent(window.benchCpu),
          '-',
          mib(process.memoryUsage().rss),
          `${ms(window.benchLoopP99)} / ${ms(window.benchLoopMax)}`,
        ]);
      }
      printTable(['window', 'process', 'CPU (100% = 1 core)', 'waited for a CPU', 'RSS at end', 'event loop p99 / max'], resourceRows, [2, 3, 4, 5]);
      console.log('waited for a CPU: time the main thread (the event loop; a backend) was runnable but not running, from /proc/<pid>/schedstat.');
      for (const [name, window] of windows) {
        console.log(
          `${name} window: the whole machine had a task waiting for a CPU ${percent(window.cpuPressure)} of the time, for IO ${percent(window.ioPressure)} (/proc/pressure "some").`,
        );
      }
      console.log(
        `Endpoint process (the bench's silent template, started as node --require tsx/cjs): RSS ${mib(processes.rssMean)} each (${mib(processes.ussMean)} of it private), ${mib(processes.pssTotal)} PSS for all ${processes.count}; ${(processes.startupCpuMean * 1000).toFixed(0)} ms CPU each to start.`,
      );
      console.log('');

      // Database work per request: a window's rate minus the idle window's (same sweeps, claims and pollers, no requests).
      const rate = (window: ResourceWindow, pick: (counters: DatabaseCounters) => number) =>
        perSecond(pick(window.counters.before), pick(window.counters.after), window.seconds);
      const hbRate = load.completed / load.resources.seconds;
      const baseRate = baseline.completed / baseline.resources.seconds;
      const perTypename = (pick: (counters: DatabaseCounters) => number) => (rate(baseline.resources, pick) - rate(idle, pick)) / baseRate;
      // In the load window, the { __typename } stream beside the heartbeats is taken off at the baseline's cost per request.
      const per = (window: ResourceWindow, requests: number, pick: (counters: DatabaseCounters) => number) =>
        (
          (rate(window, pick) - rate(idle, pick) - (window === load.resources ? (load.reference.length / load.steadySeconds) * perTypename(pick) : 0)) /
          requests
        ).toFixed(2);
      const hbUpdates = rate(load.resources, (c) => c.deploymentUpdates);
      const hotShare = (rate(load.resources, (c) => c.deploymentHotUpdates) / Math.max(1, hbUpdates)) * 100;
      console.log('Database (pg_stat_database / pg_stat_user_tables of the throwaway database; statistics are flushed about once a second):');
      console.log(
        `  committed transactions/s: ${rate(idle, (c) => c.xactCommit).toFixed(0)} idle (sweeps, schedule claims, this bench's pollers), ${rate(baseline.resources, (c) => c.xactCommit).toFixed(0)} in the baseline, ${rate(load.resources, (c) => c.xactCommit).toFixed(0)} with heartbeats`,
      );
      for (const [label, window, requests] of [
        ['per { __typename } with a token', baseline.resources, baseRate],
        ['per heartbeat', load.resources, hbRate],
      ] as const) {
        console.log(
          `  ${label}: ${per(window, requests, (c) => c.xactCommit)} committed statements, ${per(window, requests, (c) => c.tupFetched)} tuples fetched, ${per(window, requests, (c) => c.tupInserted)} inserted, ${per(window, requests, (c) => c.tupUpdated)} updated`,
        );
      }
      console.log(
        `  deployments table: ${tableSize.size} for ${tableSize.rows} rows, ${load.resources.counters.after.deploymentDeadTuples.toLocaleString('en-US')} dead tuples at the end, ${hotShare.toFixed(0)}% of its updates during the heartbeats HOT (no index entries written); seq scans ${rate(load.resources, (c) => c.deploymentSeqScans).toFixed(1)}/s, index scans ${rate(load.resources, (c) => c.deploymentIndexScans).toFixed(0)}/s`,
      );
      console.log(
        `  EXPLAIN ANALYZE after the load: sweep query ${sweepPlan.executionMs.toFixed(3)} ms (+${sweepPlan.planningMs.toFixed(3)} ms planning); heartbeat SELECT ${selectPlan.executionMs.toFixed(3)} ms; heartbeat UPDATE ${updatePlan.executionMs.toFixed(3)} ms`,
      );
      for (const line of sweepPlan.plan.filter((line) => !/Time:/.test(line))) console.log(`    ${line}`);
      console.log('');
      const seconds = Math.max(...load.steadySecond, 0) + 1;
      const bySecond = Array.from({ length: seconds }, () => [] as number[]);
      load.steady.forEach((value, i) => bySecond[load.steadySecond[i]].push(value));
      console.log(
        `Heartbeat p99 by second of the window (from ${STEADY_FROM_STEP}): ${bySecond
          .slice(STEADY_FROM_STEP)
          .map((values) => summarize(values).p99.toFixed(0))
          .join(' ')} ms`,
      );
      const probeBySecond = Array.from({ length: seconds }, () => [] as number[]);
      load.resources.probe.at.forEach((at, i) => {
        const second = Math.floor((at - load.startedAt) / 1000);
        if (second >= 0 && second < seconds) probeBySecond[second].push(load.resources.probe.pair[i]);
      });
      console.log(
        `DB alone (SELECT + UPDATE) max by second:              ${probeBySecond
          .slice(STEADY_FROM_STEP)
          .map((values) => (values.length ? Math.max(...values).toFixed(0) : '-'))
          .join(' ')} ms`,
      );
      console.log(
        `Health sweep cadence: start to start p50 ${ms(summarize(sweepGaps).p50)}, max ${ms(summarize(sweepGaps).max)}; a 3rd miss falling at a random moment of this window waits more than ${INTERVAL_MS / 1000} s for the next sweep ${(lateShare * 100).toFixed(0)}% of the time (worst case about ${ms(summarize(sweepGaps).max)} + the sweep).`,
      );
      const sameWorker = sweepGaps.filter((_, i) => sweepStarts[i + 1].worker === sweepStarts[i].worker);
      const otherWorker = sweepGaps.filter((_, i) => sweepStarts[i + 1].worker !== sweepStarts[i].worker);
      console.log(
        `  after a sweep by the same process: ${sameWorker.length} gaps, p50 ${ms(summarize(sameWorker).p50)}, min ${ms(summarize(sameWorker).min)}; by the other process: ${otherWorker.length} gaps, p50 ${ms(summarize(otherWorker).p50)}, min ${ms(summarize(otherWorker).min)}, max ${ms(summarize(otherWorker).max)}`,
      );
      console.log('');
      console.log('Flips (each stopped deployment, first server-side change):');
      for (const line of flipLines) console.log(`  ${line}`);
      for (const line of missing) console.log(`  no UNHEALTHY event for ${line} within the window`);
      for (const line of falseFlipsInHistory.slice(0, 10)) console.log(`  false flip: ${line}`);
      for (const event of falseFlipsWatched.slice(0, 10))
        console.log(
          `  false flip (subscription on ${endpoints[event.server].label}): ${event.deployment.id} at +${((event.at - load.startedAt) / 1000).toFixed(2)} s: ${event.reason}`,
        );
      if (load.errors.total) console.log(`Heartbeat errors: ${load.errors.describe()}`);
      if (baseline.errors.total) console.log(`Baseline errors: ${baseline.errors.describe()}`);
      if (load.referenceErrors.total) console.log(`Errors of the { __typename } beside the heartbeats: ${load.referenceErrors.describe()}`);
      if (warmup.errors.total) console.log(`Warm-up refusals (retried): ${warmup.errors.describe()}`);
      const windowEnd = load.endedAt;
      console.log(
        `Token validation cache: the tokens were first used ${((load.startedAt - warmup.firstAt) / 1000).toFixed(1)} s to ${((load.startedAt - warmup.lastAt) / 1000).toFixed(1)} s before the load began; ` +
          (windowEnd < tokenCacheFirstExpiry
            ? `the load ended ${((tokenCacheFirstExpiry - windowEnd) / 1000).toFixed(1)} s before the first could expire (${TOKEN_CACHE_TTL_MS / 1000} s TTL): no argon2id check in the measured window.`
            : `the first expired ${((windowEnd - tokenCacheFirstExpiry) / 1000).toFixed(1)} s before the load ended: the window includes argon2id re-checks.`),
      );

      // Clean-up
      for (const client of wsClients.splice(0)) await client.dispose();
      progress(`stopping ${deployments.length} deployments`);
      const stopped = await stopAll(endpoints, deployments, vendor.apiKey);
      console.log(`Clean-up: stopDeployment for ${deployments.length} deployments in ${stopped.seconds.toFixed(1)} s (errors: ${stopped.errors.describe()}).`);
      deployments = [];
      for (const note of notes) console.log(`note: ${note}`);
    } finally {
      sweeps.stop();
      for (const client of wsClients) await Promise.resolve(client.dispose()).catch(() => undefined);
      await Promise.all(services.map((service) => service.stop()));
      await stats.end().catch(() => undefined);
      await poller.end().catch(() => undefined);
      await prober.end().catch(() => undefined);
      for (const endpoint of endpoints) endpoint.agent.destroy();
      const left = [...endpointPids].filter((pid) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      });
      if (left.length > 0) {
        console.log(`note: ${left.length} endpoint process(es) outlived their servers; killing them`);
        for (const pid of left) process.kill(pid, 'SIGKILL');
      }
      endpointPids.clear();
    }
  } finally {
    await database.drop();
  }
  console.log(`\nLoad average at the end: ${loadAverage()}.`);
}

runMain(main);
