/**
 * Training runs: startTrainingRun to QUEUED / RUNNING, and log-line latency to 200 graphql-ws subscribers (one and two server processes).
 *
 * Builds dist/ if stale. A bench-only training template (`bench-log-lines`) is written at run
 * time into a temporary directory handed to the servers as MP_TEMPLATES_DIR: a plain JavaScript
 * program that prints `bench-line <i> <epoch ms>` lines at a steady rate, each stamped with
 * performance.timeOrigin + performance.now() right before its synchronous write to the stdout
 * pipe. The program and this benchmark run on the same machine, so the stamps compare directly.
 *
 * (a) Start latency, on the LOCAL provider: 2 warm-up + 20 measured runs, one after another
 *     (each waits for the previous to finish), of a program printing a single line. QUEUED:
 *     the startTrainingRun mutation's response time (POST /graphql, kept-alive connection).
 *     RUNNING: when a `trainingRunUpdated(runId)` event with status RUNNING reaches this
 *     process, on a graphql-ws connection opened beforehand, subscribed as soon as the
 *     mutation answered; also the time the server recorded in the run's history.
 * (b) Log latency: a run prints 2,000 lines over 4 s after a gate opens (after an unmeasured
 *     warm-up run of 1,000 lines over 2 s with the same subscribers, as a serving process is warm). 200 graphql-ws
 *     clients (one WebSocket connection each, in this process) subscribe to
 *     `trainingLogs(runId, afterSeq: 0)` right after the mutation answers; the program waits
 *     (printing one "waiting" line) until every subscriber has received that line, then the
 *     gate (a file) is created. Latency = arrival in the subscriber's `next` - the stamp in the
 *     line, over every (line, subscriber) pair; each subscriber must see every seq once, in
 *     order, every bench line exactly once, and the final status SUCCEEDED. A 1-subscriber
 *     run is measured too, for reference. Right before the gate opens, this process collects
 *     its own garbage (node --expose-gc, set by scripts/bench.mjs), so the setup's garbage is
 *     not collected during the measurement; the servers are left alone.
 * (c) The same as (b) with the subscribers on a second server process (MP_TRAINING_WORKER=false)
 *     while the job runs in the first; both on one fresh PostgreSQL database.
 * (a) and (b) run on the embedded database (fresh MP_DATA_DIR) and on PostgreSQL; (c) on
 * PostgreSQL only. The PostgreSQL database is created with CREATE DATABASE on
 * --postgres-url (default postgres://postgres@127.0.0.1:5432/postgres, or
 * MP_BENCH_POSTGRES_URL) and dropped at the end. Options: --runs N, --subscribers N,
 * --lines N, --duration-ms N, --no-postgres.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createClient, type Client } from 'graphql-ws';
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
  nowMs,
  postgresReachable,
  serverCommand,
  sp500Csv,
  startServer,
} from './_servers';

const TEMPLATE = 'bench-log-lines';
const WARMUP_RUNS = 2;
/** Before each many-subscriber measurement: an unmeasured run of this many lines over this long. */
const WARMUP_LOG_LINES = 1000;
const WARMUP_LOG_MS = 2000;

interface Options {
  runs: number;
  subscribers: number;
  lines: number;
  durationMs: number;
  postgres: boolean;
  postgresUrl: string;
}

function parseOptions(argv: string[]): Options {
  const options: Options = {
    runs: 20,
    subscribers: 200,
    lines: 2000,
    durationMs: 4000,
    postgres: true,
    postgresUrl: process.env.MP_BENCH_POSTGRES_URL || DEFAULT_POSTGRES_URL,
  };
  const numeric = (name: string, value: string | undefined, min: number, max: number): number => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < min || number > max) throw new Error(`${name} takes a whole number from ${min} to ${max} (got ${value})`);
    return number;
  };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--runs') options.runs = numeric(arg, argv[++i], 1, 1000);
    else if (arg === '--subscribers') options.subscribers = numeric(arg, argv[++i], 1, 2000);
    else if (arg === '--lines') options.lines = numeric(arg, argv[++i], 1, 100_000);
    else if (arg === '--duration-ms') options.durationMs = numeric(arg, argv[++i], 0, 600_000);
    else if (arg === '--no-postgres') options.postgres = false;
    else if (arg === '--postgres-url') options.postgresUrl = argv[++i] ?? '';
    else throw new Error(`unknown argument ${arg}: options are --runs N, --subscribers N, --lines N, --duration-ms N, --no-postgres, --postgres-url URL`);
  }
  return options;
}

// ---------------------------------------------------------------------------------------
// The bench template

const TRAIN_JS = String.raw`'use strict';
// Bench template: prints "bench-line <i> <epoch ms>" lines at a steady rate, each stamped
// right before its write (stdout is a pipe: writes are synchronous on Linux).
const fs = require('node:fs');
const hp = JSON.parse(process.env.MP_HPARAMS || '{}');
const lines = hp.lines ?? 1;
const durationMs = hp.durationMs ?? 0;
const gate = hp.gate;
const now = () => performance.timeOrigin + performance.now();
// The server started us; if it goes away (the benchmark was interrupted), so do we.
const parent = process.ppid;
const orphaned = () => process.ppid !== parent;

function afterGate(then) {
  if (!gate) return then();
  process.stdout.write('bench-waiting-for-gate\n');
  const deadline = Date.now() + 120000;
  const timer = setInterval(() => {
    if (fs.existsSync(gate)) {
      clearInterval(timer);
      then();
    } else if (Date.now() > deadline || orphaned()) {
      process.stderr.write('the gate never opened\n');
      process.exit(3);
    }
  }, 2);
}

afterGate(() => {
  const start = now();
  let i = 0;
  const tick = () => {
    const due = durationMs === 0 ? lines : Math.min(lines, Math.floor(((now() - start) / durationMs) * lines) + 1);
    while (i < due) {
      process.stdout.write('bench-line ' + i + ' ' + now().toFixed(3) + '\n');
      i += 1;
    }
    if (i < lines && !orphaned()) setTimeout(tick, 1);
  };
  tick();
});
`;

function writeTemplate(): string {
  const root = temporaryDirectory('templates');
  const dir = path.join(root, TEMPLATE);
  mkdirSync(path.join(dir, 'src'), { recursive: true });
  const manifest = {
    name: TEMPLATE,
    private: true,
    description: 'npm run bench -- training: prints timestamped lines at a steady rate',
    main: 'src/train.js',
    mp: {
      hyperparameters: {
        lines: { type: 'integer', min: 0, max: 1_000_000, default: 1 },
        durationMs: { type: 'integer', min: 0, max: 600_000, default: 0 },
        gate: { type: 'string', description: 'wait until this file exists' },
      },
    },
  };
  writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(path.join(dir, 'src', 'train.js'), TRAIN_JS);
  return root;
}

// ---------------------------------------------------------------------------------------
// GraphQL

const START_RUN = `mutation ($spec: TrainingSpecInput!) { startTrainingRun(spec: $spec) { id status } }`;
const RUN_STATE = `query ($id: ID!) { trainingRun(id: $id) { id status logLineCount failureReason history { to at } } }`;
const RUN_UPDATES = `subscription ($runId: ID!) { trainingRunUpdated(runId: $runId) { status } }`;
const LOGS = `subscription ($runId: ID!) { trainingLogs(runId: $runId, afterSeq: 0) { lines { seq line } finalStatus } }`;

interface RunState {
  id: string;
  status: string;
  logLineCount: number;
  failureReason: string | null;
  history: { to: string; at: string }[];
}

async function startRun(url: string, apiKey: string, hyperparameters: Record<string, number | string>): Promise<{ id: string; status: string }> {
  const spec = {
    task: 'SIGNAL',
    template: TEMPLATE,
    gpuType: 'CPU',
    provider: 'LOCAL',
    timeoutSeconds: 600,
    hyperparameters: Object.entries(hyperparameters).map(([name, value]) => ({ name, value })),
  };
  const data = await graphql<{ startTrainingRun: { id: string; status: string } }>(url, START_RUN, { spec }, apiKey);
  return data.startTrainingRun;
}

async function runState(url: string, apiKey: string, id: string): Promise<RunState> {
  return (await graphql<{ trainingRun: RunState }>(url, RUN_STATE, { id }, apiKey)).trainingRun;
}

/** graphql-ws clients that never retry; resolves once every one is connected (acknowledged). */
async function connectClients(graphqlUrl: string, apiKey: string, count: number): Promise<Client[]> {
  const wsUrl = graphqlUrl.replace(/^http/, 'ws');
  const clients: Client[] = [];
  const connected: Promise<void>[] = [];
  for (let i = 0; i < count; i += 1) {
    connected.push(
      new Promise<void>((resolve, reject) => {
        const client = createClient({
          url: wsUrl,
          webSocketImpl: WebSocket,
          connectionParams: { authorization: `Bearer ${apiKey}` },
          lazy: false,
          retryAttempts: 0,
          keepAlive: 0,
          onNonLazyError: (error) => reject(new Error(`graphql-ws client ${i} could not connect: ${describe(error)}`)),
          on: { connected: () => resolve() },
        });
        clients.push(client);
      }),
    );
  }
  await withTimeout(Promise.all(connected), 60_000, `${count} graphql-ws connections`);
  return clients;
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'code' in error)
    return `closed ${(error as { code: number }).code} ${(error as { reason?: string }).reason ?? ''}`;
  return JSON.stringify(error);
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<T>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------
// (a) start latency

interface StartLatency {
  label: string;
  queued: number[];
  runningObserved: number[];
  startingRecorded: number[];
  runningRecorded: number[];
  /** Status the mutation answered with, counted. */
  answered: Record<string, number>;
  /** Runs whose RUNNING was never seen on the subscription (it jumped to the end). */
  runningMissed: number;
}

async function measureStart(label: string, server: Service, apiKey: string, runs: number): Promise<StartLatency> {
  const result: StartLatency = { label, queued: [], runningObserved: [], startingRecorded: [], runningRecorded: [], answered: {}, runningMissed: 0 };
  const [client] = await connectClients(server.url, apiKey, 1);
  try {
    for (let i = 0; i < WARMUP_RUNS + runs; i += 1) {
      const measured = i >= WARMUP_RUNS;
      const t0 = nowMs();
      const run = await startRun(server.url, apiKey, { lines: 1, durationMs: 0 });
      const tQueued = nowMs();
      let tRunning: number | undefined;
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          client.subscribe<{ trainingRunUpdated: { status: string } }>(
            { query: RUN_UPDATES, variables: { runId: run.id } },
            {
              next: (message) => {
                const status = message.data?.trainingRunUpdated.status;
                if (message.errors) reject(new Error(`trainingRunUpdated: ${JSON.stringify(message.errors)}`));
                if (status === 'RUNNING' && tRunning === undefined) tRunning = nowMs();
              },
              error: (error) => reject(new Error(`trainingRunUpdated failed: ${describe(error)}`)),
              complete: () => resolve(),
            },
          );
        }),
        60_000,
        `run ${run.id} to finish (trainingRunUpdated)`,
      );
      const state = await runState(server.url, apiKey, run.id);
      if (state.status !== 'SUCCEEDED') throw new Error(`run ${run.id} ended ${state.status}: ${state.failureReason}\n${server.output().slice(-2000)}`);
      if (!measured) continue;
      result.answered[run.status] = (result.answered[run.status] ?? 0) + 1;
      result.queued.push(tQueued - t0);
      if (tRunning === undefined) result.runningMissed += 1;
      else result.runningObserved.push(tRunning - t0);
      const at = (to: string) => state.history.find((change) => change.to === to)?.at;
      const starting = at('STARTING');
      const running = at('RUNNING');
      if (starting) result.startingRecorded.push(Date.parse(starting) - t0);
      if (running) result.runningRecorded.push(Date.parse(running) - t0);
    }
  } finally {
    await client.dispose();
  }
  return result;
}

// ---------------------------------------------------------------------------------------
// (b), (c) log latency

interface SubscriberState {
  lastSeq: number;
  outOfOrder: number;
  seen: Uint16Array;
  sawGate: boolean;
  finalStatus: string | null;
  completed: boolean;
  error: string | null;
}

interface LogLatency {
  label: string;
  subscribers: number;
  lines: number;
  latencies: Float64Array;
  pairs: number;
  summary: Summary;
  /** Subscribers that missed at least one bench line / got one twice / saw seqs out of order / did not end SUCCEEDED. */
  lost: number;
  duplicated: number;
  outOfOrder: number;
  badEnd: number;
  lostPairs: number;
  duplicatePairs: number;
  /** From the subscribe calls until every subscriber had the "waiting" line. */
  allSubscribedMs: number;
  /** From the gate opening until the last subscriber completed. */
  deliveryMs: number;
  runStatus: string;
  logLineCount: number;
  benchLoopDelayP99: number;
  benchLoopDelayMax: number;
  /** Per bench line, over its subscribers: the first arrival's latency (the pipeline up to the send) and last - first (the fan-out). */
  firstArrival: Summary;
  fanOut: Summary;
  /** The lines whose first arrival was latest: index, when printed (ms after the first line), first and last latency. */
  slowestLines: { index: number; printedAtMs: number; first: number; last: number }[];
  benchCpu: number;
  jobServer: { cpu?: number; probe: ProbeReport };
  subscriberServer?: { cpu?: number; probe: ProbeReport };
}

async function measureLogs(
  label: string,
  job: Service,
  subscriberServer: Service,
  apiKey: string,
  subscribers: number,
  lines: number,
  durationMs: number,
): Promise<LogLatency> {
  const gateDir = temporaryDirectory('gate');
  const gate = path.join(gateDir, `open-${randomBytes(4).toString('hex')}`);
  progress(`${label}: connecting ${subscribers} graphql-ws client(s) to ${subscriberServer.name}`);
  const clients = await connectClients(subscriberServer.url, apiKey, subscribers);
  const latencies = new Float64Array(subscribers * lines);
  const lineFirst = new Float64Array(lines).fill(Number.POSITIVE_INFINITY);
  const lineLast = new Float64Array(lines).fill(Number.NEGATIVE_INFINITY);
  const lineStamp = new Float64Array(lines);
  let pairs = 0;
  const states: SubscriberState[] = clients.map(() => ({
    lastSeq: 0,
    outOfOrder: 0,
    seen: new Uint16Array(lines),
    sawGate: false,
    finalStatus: null,
    completed: false,
    error: null,
  }));
  let gateSeen = 0;
  let completed = 0;
  let onGate: () => void = () => undefined;
  let onAllDone: () => void = () => undefined;
  const allGate = new Promise<void>((resolve) => (onGate = resolve));
  const allDone = new Promise<void>((resolve) => (onAllDone = resolve));
  try {
    const run = await startRun(job.url, apiKey, { lines, durationMs, gate });
    progress(`${label}: run ${run.id}, ${subscribers} subscription(s) to trainingLogs, ${lines} lines over ${durationMs} ms after the gate`);
    const subscribedAt = nowMs();
    clients.forEach((client, index) => {
      const state = states[index];
      const end = () => {
        if (state.completed) return;
        state.completed = true;
        completed += 1;
        if (completed === subscribers) onAllDone();
      };
      client.subscribe<{ trainingLogs: { lines: { seq: number; line: string }[]; finalStatus: string | null } }>(
        { query: LOGS, variables: { runId: run.id } },
        {
          next: (message) => {
            const arrived = nowMs();
            if (message.errors) {
              state.error ??= JSON.stringify(message.errors);
              return;
            }
            const event = message.data?.trainingLogs;
            if (!event) return;
            for (const line of event.lines) {
              if (line.seq !== state.lastSeq + 1) state.outOfOrder += 1;
              state.lastSeq = Math.max(state.lastSeq, line.seq);
              const text = line.line;
              if (text.startsWith('bench-line ')) {
                const space = text.indexOf(' ', 11);
                const i = Number(text.slice(11, space));
                const stamp = Number(text.slice(space + 1));
                if (state.seen[i] < 65_535) state.seen[i] += 1;
                const latency = arrived - stamp;
                if (pairs < latencies.length) latencies[pairs++] = latency;
                if (i < lines) {
                  lineStamp[i] = stamp;
                  if (latency < lineFirst[i]) lineFirst[i] = latency;
                  if (latency > lineLast[i]) lineLast[i] = latency;
                }
              } else if (text === 'bench-waiting-for-gate' && !state.sawGate) {
                state.sawGate = true;
                gateSeen += 1;
                if (gateSeen === subscribers) onGate();
              }
            }
            if (event.finalStatus) state.finalStatus = event.finalStatus;
          },
          error: (error) => {
            state.error ??= describe(error);
            end();
          },
          complete: end,
        },
      );
    });

    await withTimeout(allGate, 60_000, `all ${subscribers} subscribers to receive the program's first line (${gateSeen} did)`);
    const allSubscribedMs = nowMs() - subscribedAt;

    // This process's own garbage from connecting and the warm-up, collected now rather than in
    // a pause during the measurement (a major collection here held every subscriber 50 ms).
    (globalThis as { gc?: () => void }).gc?.();
    const windows = [openProbeWindow(job), ...(subscriberServer === job ? [] : [openProbeWindow(subscriberServer)])];
    const jobCpuBefore = cpuSeconds(job.child.pid);
    const subscriberCpuBefore = subscriberServer === job ? undefined : cpuSeconds(subscriberServer.child.pid);
    const benchCpuBefore = process.cpuUsage();
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    const gateOpened = nowMs();
    writeFileSync(gate, 'open\n');
    await withTimeout(allDone, durationMs + 180_000, `all ${subscribers} subscriptions to complete (${completed} did)`);
    const deliveryMs = nowMs() - gateOpened;
    loop.disable();
    const benchCpu = process.cpuUsage(benchCpuBefore);
    const jobCpuAfter = cpuSeconds(job.child.pid);
    const subscriberCpuAfter = subscriberServer === job ? undefined : cpuSeconds(subscriberServer.child.pid);
    const [jobProbe, subscriberProbe] = await Promise.all(windows.map((close) => close()));

    const state = await runState(job.url, apiKey, run.id);
    let lost = 0;
    let duplicated = 0;
    let lostPairs = 0;
    let duplicatePairs = 0;
    let outOfOrder = 0;
    let badEnd = 0;
    for (const subscriber of states) {
      let missing = 0;
      let extra = 0;
      for (const count of subscriber.seen) {
        if (count === 0) missing += 1;
        else if (count > 1) extra += count - 1;
      }
      if (missing > 0) lost += 1;
      if (extra > 0) duplicated += 1;
      lostPairs += missing;
      duplicatePairs += extra;
      if (subscriber.outOfOrder > 0 || subscriber.lastSeq !== state.logLineCount) outOfOrder += 1;
      if (subscriber.finalStatus !== 'SUCCEEDED' || subscriber.error) badEnd += 1;
    }
    const errors = states.filter((s) => s.error).map((s) => s.error);
    if (errors.length > 0) process.stderr.write(`warning: ${errors.length} subscriber(s) ended with an error, e.g. ${errors[0]}\n`);
    const wallSeconds = deliveryMs / 1000;
    const received = Array.from({ length: lines }, (_, i) => i).filter((i) => Number.isFinite(lineFirst[i]));
    const firstStamp = Math.min(...received.map((i) => lineStamp[i]));
    const slowestLines = [...received]
      .sort((x, y) => lineFirst[y] - lineFirst[x])
      .slice(0, 3)
      .map((i) => ({ index: i, printedAtMs: lineStamp[i] - firstStamp, first: lineFirst[i], last: lineLast[i] }));
    return {
      label,
      subscribers,
      lines,
      latencies,
      pairs,
      summary: summarize(latencies.subarray(0, pairs)),
      lost,
      duplicated,
      outOfOrder,
      badEnd,
      lostPairs,
      duplicatePairs,
      allSubscribedMs,
      deliveryMs,
      runStatus: state.status,
      logLineCount: state.logLineCount,
      benchLoopDelayP99: Math.max(0, loop.percentile(99) / 1e6 - 1),
      benchLoopDelayMax: Math.max(0, loop.max / 1e6 - 1),
      firstArrival: summarize(Float64Array.from(received, (i) => lineFirst[i])),
      fanOut: summarize(Float64Array.from(received, (i) => lineLast[i] - lineFirst[i])),
      slowestLines,
      benchCpu: (benchCpu.user + benchCpu.system) / 1e6 / wallSeconds,
      jobServer: { cpu: jobCpuBefore !== undefined && jobCpuAfter !== undefined ? (jobCpuAfter - jobCpuBefore) / wallSeconds : undefined, probe: jobProbe },
      subscriberServer:
        subscriberProbe && subscriberCpuBefore !== undefined && subscriberCpuAfter !== undefined
          ? { cpu: (subscriberCpuAfter - subscriberCpuBefore) / wallSeconds, probe: subscriberProbe }
          : subscriberProbe
            ? { probe: subscriberProbe }
            : undefined,
    };
  } finally {
    await Promise.all(clients.map((client) => client.dispose()));
  }
}

/**
 * One short, unmeasured run with the same subscribers before a measured one, as the catalog
 * bench warms up: the first few hundred events otherwise run through code V8 has not yet
 * optimized, and a serving process is warm. It must still deliver every line once.
 */
async function warmUpLogs(label: string, job: Service, subscriberServer: Service, apiKey: string, subscribers: number): Promise<void> {
  const warmUp = await measureLogs(`${label}: warm-up`, job, subscriberServer, apiKey, subscribers, WARMUP_LOG_LINES, WARMUP_LOG_MS);
  if (warmUp.lost + warmUp.duplicated + warmUp.outOfOrder + warmUp.badEnd > 0) {
    throw new Error(
      `${label}: the warm-up run lost or repeated lines (lost ${warmUp.lost}, duplicated ${warmUp.duplicated}, out of order ${warmUp.outOfOrder}, bad end ${warmUp.badEnd})`,
    );
  }
}

// ---------------------------------------------------------------------------------------
// Setups

interface Results {
  starts: StartLatency[];
  logs: LogLatency[];
  notes: string[];
}

async function embeddedPhase(options: Options, templatesDir: string, results: Results): Promise<void> {
  const dataDir = temporaryDirectory('training-data');
  const env = childEnv({ MP_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', MP_LOG_LEVEL: 'warn', MP_TEMPLATES_DIR: templatesDir });
  progress('embedded: vendor create (migrates and seeds the fresh data directory, round 1 open)');
  const vendor = await createVendor(env);
  progress('embedded: starting the compiled server');
  const server = await startServer('embedded server', env, ['--require', SERVER_PROBE]);
  try {
    progress(`embedded (a): ${WARMUP_RUNS} warm-up + ${options.runs} runs`);
    results.starts.push(await measureStart('embedded', server, vendor.apiKey, options.runs));
    results.logs.push(await measureLogs('embedded, 1 subscriber (reference)', server, server, vendor.apiKey, 1, options.lines, options.durationMs));
    await warmUpLogs('embedded', server, server, vendor.apiKey, options.subscribers);
    results.logs.push(
      await measureLogs(`embedded, ${options.subscribers} subscribers`, server, server, vendor.apiKey, options.subscribers, options.lines, options.durationMs),
    );
  } finally {
    await server.stop();
  }
}

async function postgresPhase(options: Options, templatesDir: string, results: Results): Promise<void> {
  const unreachable = await postgresReachable(options.postgresUrl);
  if (unreachable) {
    results.notes.push(`PostgreSQL phases skipped: cannot reach ${options.postgresUrl}: ${unreachable}`);
    return;
  }
  const database = await createPostgresDatabase(options.postgresUrl);
  try {
    const dataDir = temporaryDirectory('training-pg-data');
    const env = childEnv({
      DATABASE_URL: database.url,
      MP_DATA_DIR: dataDir,
      MP_SIGNING_SECRET: randomBytes(32).toString('hex'),
      PORT: '0',
      HOST: '127.0.0.1',
      MP_LOG_LEVEL: 'warn',
      MP_TEMPLATES_DIR: templatesDir,
    });
    progress(`PostgreSQL: database ${database.name}: migrate, rounds create --open, vendor create`);
    await serverCommand(['migrate'], env);
    await serverCommand(['rounds', 'create', '--from', sp500Csv(), '--open'], env);
    const vendor = await createVendor(env);
    progress('PostgreSQL: starting server A (training worker) and server B (MP_TRAINING_WORKER=false)');
    const [a, b] = await Promise.all([
      startServer('server A (worker)', env, ['--require', SERVER_PROBE]),
      startServer('server B (no worker)', { ...env, MP_TRAINING_WORKER: 'false' }, ['--require', SERVER_PROBE]),
    ]);
    try {
      progress(`PostgreSQL (a): ${WARMUP_RUNS} warm-up + ${options.runs} runs on A`);
      results.starts.push(await measureStart('PostgreSQL', a, vendor.apiKey, options.runs));
      results.logs.push(await measureLogs('PostgreSQL, 1 subscriber on A (reference)', a, a, vendor.apiKey, 1, options.lines, options.durationMs));
      await warmUpLogs('PostgreSQL, on A', a, a, vendor.apiKey, options.subscribers);
      results.logs.push(
        await measureLogs(
          `PostgreSQL, ${options.subscribers} subscribers on A (same process)`,
          a,
          a,
          vendor.apiKey,
          options.subscribers,
          options.lines,
          options.durationMs,
        ),
      );
      await warmUpLogs('PostgreSQL (c), on B', a, b, vendor.apiKey, options.subscribers);
      results.logs.push(
        await measureLogs(
          `PostgreSQL (c), ${options.subscribers} subscribers on B, job on A`,
          a,
          b,
          vendor.apiKey,
          options.subscribers,
          options.lines,
          options.durationMs,
        ),
      );
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  } finally {
    await database.drop();
  }
}

// ---------------------------------------------------------------------------------------
// Report

function percentages(value: number | undefined): string {
  return value === undefined ? '-' : `${Math.round(value * 100)}%`;
}

function report(options: Options, results: Results): void {
  console.log(
    `(a) startTrainingRun -> QUEUED / RUNNING, LOCAL provider, ${options.runs} runs one after another (after ${WARMUP_RUNS} warm-up runs); a run prints one line and exits 0.`,
  );
  console.log("    QUEUED: the mutation's response time. RUNNING observed: arrival of a trainingRunUpdated event with status RUNNING");
  console.log('    (subscribed as soon as the mutation answered, on a connection opened before). Recorded: history[].at of the run, server clock.');
  console.log('');
  const startRows: string[][] = [];
  for (const start of results.starts) {
    const rows: [string, number[], Target][] = [
      ['-> QUEUED (mutation response)', start.queued, below(summarize(start.queued).p50, 50, 'p50 < 50 ms')],
      ['-> RUNNING observed (subscription)', start.runningObserved, below(summarize(start.runningObserved).p50, 500, 'p50 < 500 ms')],
      ['-> STARTING recorded by the server', start.startingRecorded, info('')],
      ['-> RUNNING recorded by the server', start.runningRecorded, below(summarize(start.runningRecorded).p50, 500, 'p50 < 500 ms')],
      ['-> RUNNING observed, old promise', start.runningObserved, below(summarize(start.runningObserved).p50, 5000, 'p50 < 5 s')],
    ];
    for (const [label, samples, target] of rows) {
      const s = summarize(samples);
      startRows.push([start.label, label, String(s.n), ms(s.p50), ms(s.p90), ms(s.p99), ms(s.max), target.label, verdict(target)]);
    }
  }
  printTable(['database', 'figure', 'n', 'p50', 'p90', 'p99', 'max', 'target', ''], startRows, [2, 3, 4, 5, 6]);
  for (const start of results.starts) {
    const answered = Object.entries(start.answered)
      .map(([status, n]) => `${status} x${n}`)
      .join(', ');
    console.log(
      `${start.label}: the mutation answered ${answered}${start.runningMissed ? `; ${start.runningMissed} run(s) never showed RUNNING on the subscription` : ''}.`,
    );
  }
  console.log('');

  console.log(
    `(b), (c) log-line latency: a run prints ${options.lines} lines over ${options.durationMs} ms; latency = arrival at a graphql-ws subscriber (in this`,
  );
  console.log('    process, one WebSocket connection per subscriber) - the timestamp the training program put in the line; every (line, subscriber) pair.');
  console.log(
    `    Each ${options.subscribers}-subscriber measurement follows an unmeasured warm-up run (${WARMUP_LOG_LINES} lines over ${WARMUP_LOG_MS} ms, same subscriber setup) on the same servers.`,
  );
  console.log('');
  printTable(
    ['scenario', 'pairs', 'p50', 'p90', 'p99', 'max', 'lost', 'dup', 'order', 'end', 'target', ''],
    results.logs.map((log) => {
      const target = below(log.summary.p99, 50, 'p99 < 50 ms');
      const expectedPairs = log.subscribers * log.lines;
      return [
        log.label,
        `${log.pairs.toLocaleString('en-US')}/${expectedPairs.toLocaleString('en-US')}`,
        ms(log.summary.p50),
        ms(log.summary.p90),
        ms(log.summary.p99),
        ms(log.summary.max),
        String(log.lost),
        String(log.duplicated),
        String(log.outOfOrder),
        String(log.badEnd),
        target.label,
        verdict(target),
      ];
    }),
    [1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  console.log('lost / dup: subscribers that missed a line / got one twice; order: subscribers whose seqs were not 1, 2, 3... up to the');
  console.log("run's logLineCount; end: subscribers that did not end with finalStatus SUCCEEDED (or got an error).");
  console.log('');
  printTable(
    [
      'scenario',
      'all subscribed',
      'delivery',
      'job server CPU',
      'job loop p99 / max',
      'subscriber server CPU',
      'its loop p99 / max',
      'bench CPU',
      'bench loop p99 / max',
    ],
    results.logs.map((log) => [
      log.label,
      ms(log.allSubscribedMs),
      ms(log.deliveryMs),
      percentages(log.jobServer.cpu),
      `${ms(log.jobServer.probe.eventLoopDelay.p99)} / ${ms(log.jobServer.probe.eventLoopDelay.max)}`,
      log.subscriberServer ? percentages(log.subscriberServer.cpu) : '(same)',
      log.subscriberServer ? `${ms(log.subscriberServer.probe.eventLoopDelay.p99)} / ${ms(log.subscriberServer.probe.eventLoopDelay.max)}` : '(same)',
      percentages(log.benchCpu),
      `${ms(log.benchLoopDelayP99)} / ${ms(log.benchLoopDelayMax)}`,
    ]),
    [1, 2, 3, 4, 5, 6, 7, 8],
  );
  console.log("all subscribed: from the subscribe calls until every subscriber had the program's first line (replay + follow in place).");
  console.log('delivery: from the gate opening (first line printed) until the last subscriber completed. CPU: share of one core over');
  console.log('that time (100% = one core). loop p99 / max: event-loop delay (1 ms timer). The bench process also parses every message.');
  console.log('');
  printTable(
    ['scenario', 'first arrival p50', 'p99', 'max', 'fan-out p50', 'p99', 'max', 'slowest lines (printed at +ms: first / last arrival)'],
    results.logs.map((log) => [
      log.label,
      ms(log.firstArrival.p50),
      ms(log.firstArrival.p99),
      ms(log.firstArrival.max),
      ms(log.fanOut.p50),
      ms(log.fanOut.p99),
      ms(log.fanOut.max),
      log.slowestLines.map((line) => `+${line.printedAtMs.toFixed(0)}: ${line.first.toFixed(0)} / ${line.last.toFixed(0)}`).join(', '),
    ]),
    [1, 2, 3, 4, 5, 6],
  );
  console.log("Per line, over its subscribers: first arrival = the earliest latency (the way from the program to the server's first");
  console.log('send); fan-out = the last arrival - the first (sending to every subscriber and this process reading them).');
  for (const log of results.logs) {
    if (log.lostPairs || log.duplicatePairs) console.log(`${log.label}: ${log.lostPairs} (line, subscriber) pairs lost, ${log.duplicatePairs} duplicated.`);
    if (log.runStatus !== 'SUCCEEDED') console.log(`${log.label}: the run ended ${log.runStatus}.`);
  }
  const clean = results.logs.every((log) => log.lost === 0 && log.duplicated === 0 && log.outOfOrder === 0 && log.badEnd === 0);
  console.log(`\nno line lost or duplicated for any subscriber: ${clean ? 'yes' : 'NO (see the table)'}`);
  for (const note of results.notes) console.log(`note: ${note}`);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const build = ensureBuilt();
  printHeader('training', `training run start latency and live log latency (${options.subscribers} graphql-ws subscribers)`, [
    ['build', build],
    ['load', loadAverage()],
  ]);
  const templatesDir = writeTemplate();
  const results: Results = { starts: [], logs: [], notes: [] };
  await embeddedPhase(options, templatesDir, results);
  if (options.postgres) await postgresPhase(options, templatesDir, results);
  else results.notes.push('PostgreSQL phases skipped (--no-postgres)');
  report(options, results);
  console.log(`\nLoad average at the end: ${loadAverage()}.`);
}

runMain(main);
