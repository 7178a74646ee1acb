/**
 * Inference endpoint: POST /v1/signal of the runpod-signal-http template under 50 keep-alive clients, beside a bare node:http JSON answer.
 *
 * Starts the serving template (cli/templates/runpod-signal-http, its package.json `mp.entry`) as
 * the server starts a LOCAL deployment: `node --require tsx/cjs <entry>` in the template's
 * directory, with an environment built from scratch (PATH, LANG, HOME, NODE_ENV=production,
 * PORT=0, HOST=127.0.0.1) and no MP_API_URL / MP_DEPLOYMENT_TOKEN, so it sends no heartbeats and
 * writes no signals; no MP_MODEL_PATH, so it serves its built-in model. It is ready when
 * GET /health answers 200 READY. The baseline is _hello-server.js (node:http, reads the body,
 * answers a small JSON document) in a process of its own. Both also preload _server-probe.js
 * (their event-loop delay during each measured window).
 *
 * Load, from this process: --connections (default 50) keep-alive connections, for
 * --warmup seconds (default 2, not measured) and then --duration seconds (default 10). Paced runs
 * (the target's): an open loop of this bench's own over node:http keep-alive, the clients together
 * sending --rate requests a second (default 1,000: 20 per client, each at an offset of its own so
 * they do not fire together), whether or not earlier answers have arrived. Flat-out runs (autocannon): each connection sends the next request when the
 * answer to the last one has arrived (a closed loop: it measures saturation). The runs go one
 * after another, never at the same time: the template's /v1/signal (one request with 7 named
 * features) and the baseline (the same body) paced, then both flat out, /v1/signal again over a single connection (the
 * time of a request with nothing queued before it), then the batch route /v1/signals with
 * --batch requests (default 100) per body. Latency: autocannon's time from writing a request to
 * the end of its answer, every 2xx answer of the window. Throughput: answers per second. Errors:
 * answers by status, socket errors and timeouts. The machine has 2 cores and the load generator
 * shares them: its own CPU (process.cpuUsage) and event-loop delay are reported beside the
 * endpoint's CPU (/proc/<pid>/stat), so the reader can tell whether the client was the bottleneck.
 * Options: --duration S, --warmup S, --connections N, --rate N, --batch N; --profile also profiles the endpoint
 * during the /v1/signal window (V8 sampling profiler, via _server-probe.js) and prints where its
 * CPU time went (the figures of such a run include the profiler's overhead).
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  below,
  count,
  cpuSeconds,
  info,
  ms,
  openProbeWindow,
  parseOptions,
  printHeader,
  printTable,
  progress,
  ROOT,
  runMain,
  SERVER_PROBE,
  startHelloServer,
  startService,
  summarize,
  temporaryDirectory,
  verdict,
  type ProbeReport,
  type Service,
  type Summary,
  type Target,
} from './_harness';
import { printProfileSummary } from './_profile';
import { loadAverage, sleep } from './_servers';

// autocannon has no bundled types; this is the part of its programmatic API used here (as in catalog.ts).
interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  statusCodeStats: Record<string, { count: number }>;
}
interface AutocannonInstance {
  on(event: 'response', listener: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void): void;
}
type Autocannon = (
  options: { url: string; method: 'POST'; headers: Record<string, string>; body: string; connections: number; duration: number },
  done: (error: Error | null, result: AutocannonResult) => void,
) => AutocannonInstance;
const autocannon = require('autocannon') as Autocannon;

const TEMPLATE_DIR = path.join(ROOT, 'cli', 'templates', 'runpod-signal-http');
const FEATURES = ['return_1d', 'return_5d', 'return_20d', 'return_60d', 'volatility_20d', 'rsi_14', 'sma_50_distance'];

type Options = ReturnType<typeof readOptions>;
const readOptions = () =>
  parseOptions(
    process.argv.slice(2),
    { duration: 10, warmup: 2, connections: 50, rate: 1000, batch: 100, profile: false },
    { duration: [1, 600], warmup: [0, 60], connections: [1, 1000], rate: [1, 100_000], batch: [1, 500] },
  );

function signalRequest(i: number): Record<string, unknown> {
  return {
    symbol: `S${i}`,
    asOf: '2026-11-20T21:00:00Z',
    horizonDays: 5,
    features: FEATURES.map((name, k) => ({ name, value: ((i * 7 + k * 13) % 100) / 100 })),
  };
}

/** The template as the server runs a LOCAL deployment (server/providers/local-deployments.ts), once GET /health says READY. */
async function startTemplate(profileFile?: string): Promise<Service> {
  const manifest = JSON.parse(readFileSync(path.join(TEMPLATE_DIR, 'package.json'), 'utf8')) as { main?: string; mp?: { entry?: string } };
  const entry = manifest.mp?.entry ?? manifest.main;
  if (!entry) throw new Error(`${TEMPLATE_DIR}/package.json names no mp.entry`);
  const env = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    LANG: process.env.LANG || 'C.UTF-8',
    HOME: temporaryDirectory('endpoint-home'),
    NODE_ENV: 'production',
    PORT: '0',
    HOST: '127.0.0.1',
    ...(profileFile ? { MP_BENCH_PROFILE: profileFile } : {}),
  };
  const args = ['--require', SERVER_PROBE, '--require', require.resolve('tsx/cjs'), path.join(TEMPLATE_DIR, entry)];
  const service = await startService('signal endpoint', args, env, /listening on (http:\/\/127\.0\.0\.1:\d+)/, 30_000, TEMPLATE_DIR);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const response = await fetch(`${service.url}/health`);
    const health = (await response.json()) as { status?: string };
    if (response.status === 200 && health.status === 'READY') return service;
    if (Date.now() > deadline) throw new Error(`the endpoint is not READY after 30 s: ${JSON.stringify(health)}\n${service.output()}`);
    await sleep(100);
  }
}

/** One request, checked, before any load: a broken body would only show as 400s in the window. */
async function check(url: string, body: string, valid: (answer: unknown) => boolean): Promise<void> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await response.text();
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    answer = undefined;
  }
  if (response.status !== 200 || !valid(answer)) throw new Error(`POST ${url} answered ${response.status}: ${text.slice(0, 500)}`);
}

interface Run {
  latency: Summary;
  perSecond: number;
  statuses: string;
  errors: number;
  serverCpu?: number;
  clientCpu: number;
  clientLoop: { p99: number; max: number };
  probe: ProbeReport;
}

function load(url: string, body: string, connections: number, seconds: number, latencies?: number[]): Promise<AutocannonResult> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      { url, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections, duration: seconds },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    if (latencies) {
      instance.on('response', (_client, statusCode, _bytes, responseTime) => {
        if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
      });
    }
  });
}

/**
 * Open loop: `clients` keep-alive clients, each sending a request every `clients / rate` s at an
 * offset of its own (spread evenly over the period, so they do not fire together), whether or not
 * its last one has been answered. Latency: from request() to the end of the answer.
 */
function pacedLoad(url: string, body: string, clients: number, seconds: number, rate: number, latencies?: number[]): Promise<AutocannonResult> {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const statusCodeStats: Record<string, { count: number }> = {};
  let errors = 0;
  const periodMs = (clients / rate) * 1000;
  const started = performance.now();
  const send = () => {
    const sentAt = performance.now();
    const request = http.request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        response.resume();
        response.on('end', () => {
          const code = String(response.statusCode);
          (statusCodeStats[code] ??= { count: 0 }).count += 1;
          if (latencies && response.statusCode! >= 200 && response.statusCode! < 300) latencies.push(performance.now() - sentAt);
        });
      },
    );
    request.on('error', () => (errors += 1));
    request.end(body);
  };
  return new Promise((resolve) => {
    const timers: NodeJS.Timeout[] = [];
    for (let client = 0; client < clients; client += 1) {
      let next = started + (client * periodMs) / clients;
      const tick = () => {
        if (performance.now() - started >= seconds * 1000) return;
        send();
        next += periodMs;
        timers[client] = setTimeout(tick, Math.max(0, next - performance.now()));
      };
      timers[client] = setTimeout(tick, Math.max(0, next - performance.now()));
    }
    setTimeout(() => {
      timers.forEach(clearTimeout);
      // Answers still on their way are counted if they arrive within a second.
      setTimeout(() => {
        agent.destroy();
        resolve({ duration: seconds, errors, timeouts: 0, statusCodeStats });
      }, 1000);
    }, seconds * 1000);
  });
}

/** `paced`: the clients together send `options.rate` requests a second; otherwise each sends the next as soon as the last is answered. */
async function measure(label: string, service: Service, url: string, body: string, options: Options, paced = false): Promise<Run> {
  const rate = paced ? options.rate : undefined;
  progress(`${label}: ${options.warmup} s warm-up, then ${options.duration} s measured, ${options.connections} connections${rate ? `, ${rate}/s` : ''}`);
  const drive = (seconds: number, latencies?: number[]) =>
    rate ? pacedLoad(url, body, options.connections, seconds, rate, latencies) : load(url, body, options.connections, seconds, latencies);
  if (options.warmup > 0) await drive(options.warmup);
  global.gc?.();
  const latencies: number[] = [];
  const closeProbe = openProbeWindow(service);
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const serverBefore = cpuSeconds(service.child.pid);
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  const result = await drive(options.duration, latencies);
  const wall = rate ? options.duration : (performance.now() - started) / 1000;
  const client = process.cpuUsage(clientBefore);
  const serverAfter = cpuSeconds(service.child.pid);
  loop.disable();
  const probe = await closeProbe();
  const codes = Object.entries(result.statusCodeStats).sort(([a], [b]) => Number(a) - Number(b));
  const answered = codes.reduce((sum, [, stats]) => sum + stats.count, 0);
  if (latencies.length === 0)
    throw new Error(`${label}: no 2xx answer in ${options.duration} s (${JSON.stringify(result.statusCodeStats)})\n${service.output()}`);
  return {
    latency: summarize(latencies),
    perSecond: answered / wall,
    statuses: codes.map(([code, stats]) => `${code}: ${count(stats.count)}`).join(', ') || 'none',
    errors: result.errors + result.timeouts,
    serverCpu: serverBefore !== undefined && serverAfter !== undefined ? (serverAfter - serverBefore) / wall : undefined,
    clientCpu: (client.user + client.system) / 1e6 / wall,
    clientLoop: { p99: Math.max(0, loop.percentile(99) / 1e6 - 1), max: Math.max(0, loop.max / 1e6 - 1) },
    probe,
  };
}

function percent(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '-' : `${Math.round(value * 100)}%`;
}

async function main(): Promise<void> {
  const options = readOptions();
  printHeader(
    'inference',
    `POST /v1/signal of the runpod-signal-http template vs node:http (${options.connections} keep-alive clients, ${count(options.rate)}/s and flat out, ${options.duration} s)`,
    [
      ['code', 'the template through tsx (node --require tsx/cjs, as LOCAL deployments run); no build needed'],
      ['load', loadAverage()],
    ],
  );
  progress('starting the serving template and the hello-world server');
  const profileFile = options.profile ? path.join(temporaryDirectory('profile'), 'endpoint.cpuprofile') : undefined;
  const [endpoint, hello] = await Promise.all([startTemplate(profileFile), startHelloServer({ nodeArgs: ['--require', SERVER_PROBE] })]);
  const single = JSON.stringify(signalRequest(0));
  const batch = JSON.stringify({ requests: Array.from({ length: options.batch }, (_, i) => signalRequest(i)) });
  await check(`${endpoint.url}/v1/signal`, single, (answer) => {
    const { score, confidence, modelVersion } = answer as { score?: number; confidence?: number; modelVersion?: string };
    return typeof score === 'number' && score >= 0 && score <= 1 && typeof confidence === 'number' && typeof modelVersion === 'string';
  });
  await check(`${endpoint.url}/v1/signals`, batch, (answer) => (answer as { responses?: unknown[] }).responses?.length === options.batch);
  await check(hello.url, single, (answer) => (answer as { data?: unknown }).data !== undefined);

  const pacedSignal = await measure('POST /v1/signal, paced', endpoint, `${endpoint.url}/v1/signal`, single, options, true);
  const pacedBaseline = await measure('node:http baseline, paced', hello, hello.url, single, options, true);
  const signal = await measure('POST /v1/signal', endpoint, `${endpoint.url}/v1/signal`, single, options);
  if (profileFile) {
    if (signal.probe.profileError) throw new Error(`the endpoint could not profile: ${signal.probe.profileError}`);
    printProfileSummary(profileFile, 'the endpoint during the /v1/signal window (profiler overhead included)');
  }
  const baseline = await measure('node:http baseline', hello, hello.url, single, options);
  const alone = await measure('POST /v1/signal, 1 connection', endpoint, `${endpoint.url}/v1/signal`, single, { ...options, connections: 1 });
  const batched = await measure(`POST /v1/signals (${options.batch} per batch)`, endpoint, `${endpoint.url}/v1/signals`, batch, options);
  await Promise.all([endpoint.stop(), hello.stop()]);

  const runs: [string, Run, Target][] = [
    [`POST /v1/signal, ${count(options.rate)}/s from ${options.connections} clients`, pacedSignal, below(pacedSignal.latency.p99, 5, 'p99 < 5 ms')],
    ["  the seed's promise", pacedSignal, below(pacedSignal.latency.p99, 100, 'p99 < 100 ms')],
    [`bare node:http JSON answer, the same load`, pacedBaseline, info('baseline, same run')],
    [`POST /v1/signal, ${options.connections} clients flat out`, signal, info('saturation')],
    ['bare node:http JSON answer, flat out', baseline, info('baseline, same run')],
    ['POST /v1/signal, 1 connection (no queueing)', alone, info('service time')],
    [`POST /v1/signals, ${options.batch} requests per batch`, batched, info(`${count(batched.perSecond * options.batch)} signals/s`)],
  ];
  printTable(
    ['case', 'answers', 'answers/s', 'p50', 'p90', 'p99', 'max', 'target', ''],
    runs.map(([label, run, target]) => [
      label,
      count(run.latency.n),
      count(run.perSecond),
      ms(run.latency.p50),
      ms(run.latency.p90),
      ms(run.latency.p99),
      ms(run.latency.max),
      target.label,
      verdict(target),
    ]),
    [1, 2, 3, 4, 5, 6],
  );
  console.log('');
  const measured: [string, Run][] = [
    ['/v1/signal paced', pacedSignal],
    ['baseline paced', pacedBaseline],
    ['/v1/signal', signal],
    ['baseline', baseline],
    ['/v1/signal x1', alone],
    ['/v1/signals', batched],
  ];
  printTable(
    ['run', 'answers by status', 'socket errors + timeouts', 'server CPU', 'server loop p99 / max', 'client CPU', 'client loop p99 / max'],
    measured.map(([label, run]) => [
      label,
      run.statuses,
      String(run.errors),
      percent(run.serverCpu),
      `${ms(run.probe.eventLoopDelay.p99)} / ${ms(run.probe.eventLoopDelay.max)}`,
      percent(run.clientCpu),
      `${ms(run.clientLoop.p99)} / ${ms(run.clientLoop.max)}`,
    ]),
    [2, 3, 4, 5, 6],
  );
  console.log('');
  console.log(
    `${options.connections} keep-alive connections, ${options.warmup} s warm-up + ${options.duration} s per run, one run at a time; CPU: 100% = one core (this machine: 2). ` +
      `Paced: the connections together send ${count(options.rate)} requests a second (--rate), the load the target is judged at; flat out: each sends its next request as soon as its last is answered (a closed loop), which measures the queue more than a request.`,
  );
  console.log(
    `Flat out, latency is about connections / throughput (Little's law): ${options.connections} / ${count(signal.perSecond)} per s = ${ms((options.connections / signal.perSecond) * 1000)} for /v1/signal, ${ms((options.connections / baseline.perSecond) * 1000)} for the baseline.`,
  );
  const busiest = Math.max(...measured.map(([, run]) => run.clientCpu));
  if (busiest > 0.85) {
    console.log(
      `The load generator (autocannon, this process) used up to ${percent(busiest)} of a core: on 2 cores it competes with the server, so the figures bound what the client could drive as much as what the server can answer.`,
    );
  }
  console.log(`Load average at the end: ${loadAverage()}.`);
}

runMain(main);
