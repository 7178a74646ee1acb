/**
 * HTTP throughput and latency of the catalog query vs a bare node:http hello world (autocannon).
 *
 * Builds dist/ if stale, starts the compiled server (`node dist/server/main.js start`, fresh
 * embedded database in a temporary MP_DATA_DIR, port 0) and a hello-world node:http server,
 * each in a process of its own, then for each target: 2 s warm-up, 10 s measured, 50
 * connections, POST with content-type application/json. The catalog query is sent without an
 * API key, as the public catalog is read: after the first request, answers come from the
 * server's response cache (`@publicCache`, 5 s, cleared by catalog changes). For reference the
 * same query is measured with a vendor's API key (never cached: the full Apollo pipeline and
 * execution, over the catalog's 5 s page cache), and Apollo's trivial `{ __typename }`. Latency percentiles come from autocannon's
 * per-response timings (sub-millisecond resolution, 2xx only).
 *
 * Both servers run with a preload (_server-probe.js) that measures their event-loop delay
 * during each measured run. `npm run bench -- catalog --profile` also profiles our server
 * (V8 sampling profiler, measured runs only) and prints where its CPU time went during the
 * catalog run; the figures of such a run include the profiler's overhead.
 */
import { existsSync, mkdtempSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  atLeast,
  below,
  count,
  cpuSeconds,
  info,
  ms,
  openProbeWindow,
  printHeader,
  printTable,
  progress,
  runMain,
  startCompiledServer,
  childEnv,
  temporaryDirectory,
  startHelloServer,
  summarize,
  SERVER_PROBE,
  verdict,
  ensureBuilt,
  type ProbeReport,
  type Service,
  type Target,
} from './_harness';
import { printProfileSummary } from './_profile';
import { createVendor } from './_servers';

// autocannon has no bundled types; this is the part of its programmatic API used here.
interface AutocannonOptions {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
  connections: number;
  duration: number;
}
interface AutocannonResult {
  requests: { average: number; total: number; sent: number };
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  statusCodeStats: Record<string, { count: number }>;
}
interface AutocannonInstance {
  on(event: 'response', listener: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void): void;
  stop(): void;
}
type Autocannon = (options: AutocannonOptions, done: (error: Error | null, result: AutocannonResult) => void) => AutocannonInstance;
const autocannon = require('autocannon') as Autocannon;

const CONNECTIONS = 50;
const WARMUP_SECONDS = 2;
const MEASURE_SECONDS = 10;
const CATALOG_QUERY = '{ catalog(first: 20) { totalCount nodes { id slug name task tags publishedAt vendor { displayName } } } }';
const TYPENAME_QUERY = '{ __typename }';

interface LoadResult {
  name: string;
  result: AutocannonResult;
  latencies: number[];
  /** Share of one core the server process used during the measured window. */
  serverCpu?: number;
  probe: ProbeReport;
}

function load(url: string, body: string, seconds: number, latencies?: number[], apiKey?: string): Promise<AutocannonResult> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) };
  return new Promise((resolve, reject) => {
    const instance = autocannon({ url, method: 'POST', headers, body, connections: CONNECTIONS, duration: seconds }, (error, result) =>
      error ? reject(error) : resolve(result),
    );
    if (latencies) {
      instance.on('response', (_client, statusCode, _bytes, responseTime) => {
        if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
      });
    }
  });
}

async function measure(name: string, service: Service, url: string, body: string, apiKey?: string): Promise<LoadResult> {
  progress(`${name}: ${WARMUP_SECONDS} s warm-up, then ${MEASURE_SECONDS} s measured, ${CONNECTIONS} connections`);
  await load(url, body, WARMUP_SECONDS, undefined, apiKey);
  const latencies: number[] = [];
  const closeWindow = openProbeWindow(service);
  const cpuBefore = cpuSeconds(service.child.pid);
  const started = process.hrtime.bigint();
  const result = await load(url, body, MEASURE_SECONDS, latencies, apiKey);
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuAfter = cpuSeconds(service.child.pid);
  const probe = await closeWindow();
  if (probe.profileError) throw new Error(`${service.name} could not profile: ${probe.profileError}`);
  if (result['2xx'] === 0) {
    throw new Error(
      `${name}: no successful response in ${MEASURE_SECONDS} s (status codes ${JSON.stringify(result.statusCodeStats)}, ${result.errors} errors)\n${service.output()}`,
    );
  }
  const serverCpu = cpuBefore !== undefined && cpuAfter !== undefined ? (cpuAfter - cpuBefore) / wall : undefined;
  return { name, result, latencies, serverCpu, probe };
}

/** One request with fetch, to make sure the target answers what we think before loading it. */
async function check(url: string, query: string | undefined, expect: (body: unknown) => boolean, apiKey?: string): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
    body: query === undefined ? '{}' : JSON.stringify({ query }),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  if (response.status !== 200 || !expect(body))
    throw new Error(`unexpected answer from ${url} (${query ?? 'hello'}): HTTP ${response.status} ${text.slice(0, 500)}`);
}

async function main(): Promise<void> {
  const profiling = process.argv.includes('--profile');
  const unknown = process.argv.slice(2).filter((arg) => arg !== '--profile');
  if (unknown.length > 0) throw new Error(`unknown argument(s) ${unknown.join(' ')}: the only option is --profile`);

  const build = ensureBuilt();
  printHeader('catalog', `catalog query over HTTP vs node:http hello world (autocannon, ${CONNECTIONS} connections, ${MEASURE_SECONDS} s)`, [['build', build]]);

  // Not a temporary directory: the profile is kept for Chrome DevTools (Performance > Load profile).
  const profileDir = profiling ? mkdtempSync(path.join(os.tmpdir(), 'mp-bench-profile-')) : undefined;
  const profileFile = profileDir ? path.join(profileDir, 'window.cpuprofile') : undefined;
  progress('creating a vendor (fresh embedded database, server stopped)');
  const dataDir = temporaryDirectory('data');
  const vendor = await createVendor(childEnv({ MP_DATA_DIR: dataDir, MP_LOG_LEVEL: 'warn' }));
  progress('starting the compiled server and the hello-world server');
  const [server, hello] = await Promise.all([
    startCompiledServer({ nodeArgs: ['--require', SERVER_PROBE], env: { MP_DATA_DIR: dataDir, ...(profileFile ? { MP_BENCH_PROFILE: profileFile } : {}) } }),
    startHelloServer({ nodeArgs: ['--require', SERVER_PROBE] }),
  ]);
  try {
    const catalogBody = JSON.stringify({ query: CATALOG_QUERY });
    const typenameBody = JSON.stringify({ query: TYPENAME_QUERY });
    let totalCount = 0;
    await check(server.url, CATALOG_QUERY, (body) => {
      const result = body as { data?: { catalog?: { totalCount?: number; nodes?: unknown[] } }; errors?: unknown };
      totalCount = result.data?.catalog?.totalCount ?? 0;
      return !result.errors && Array.isArray(result.data?.catalog?.nodes) && totalCount > 0;
    });
    await check(
      server.url,
      CATALOG_QUERY,
      (body) => (body as { data?: { catalog?: { totalCount?: number } } }).data?.catalog?.totalCount === totalCount,
      vendor.apiKey,
    );
    await check(server.url, TYPENAME_QUERY, (body) => (body as { data?: { __typename?: string } }).data?.__typename === 'Query');
    await check(hello.url, undefined, (body) => (body as { data?: unknown }).data !== undefined);

    const catalog = await measure('catalog', server, server.url, catalogBody);
    let catalogProfile: string | undefined;
    if (profileDir && profileFile) {
      if (!existsSync(profileFile)) throw new Error(`the server wrote no profile:\n${server.output().slice(-2000)}`);
      catalogProfile = path.join(profileDir, 'catalog.cpuprofile');
      renameSync(profileFile, catalogProfile);
    }
    const helloResult = await measure('hello world', hello, hello.url, catalogBody);
    const keyed = await measure('catalog with an API key', server, server.url, catalogBody, vendor.apiKey);
    const typename = await measure('{ __typename }', server, server.url, typenameBody);
    if (profileDir && profileFile && existsSync(profileFile)) renameSync(profileFile, path.join(profileDir, 'typename.cpuprofile'));

    const rows = [
      ['POST /graphql catalog(first: 20)', catalog],
      ['node:http hello world (baseline)', helloResult],
      ['the same catalog query, with an API key (reference, not cached)', keyed],
      ['POST /graphql { __typename } (reference)', typename],
    ] as const;
    console.log(
      `Loopback, ${CONNECTIONS} connections, ${WARMUP_SECONDS} s warm-up + ${MEASURE_SECONDS} s each; autocannon (client) and each server in separate processes; catalog has ${totalCount} published models (demo seed), 20 per page.`,
    );
    console.log(
      'The catalog query without a key is answered from the response cache after its first execution (as any anonymous reader of the public catalog is); with a key it is executed every time.',
    );
    console.log('');
    printTable(
      ['target', 'requests', 'req/s', 'p50', 'p99', 'max', 'non-2xx', 'errors', 'server CPU', 'loop delay p50/p99'],
      rows.map(([label, run]) => {
        const latency = summarize(run.latencies);
        return [
          label,
          count(run.result.requests.total),
          count(run.result.requests.average),
          ms(latency.p50),
          ms(latency.p99),
          ms(latency.max),
          count(run.result.non2xx),
          count(run.result.errors + run.result.timeouts),
          run.serverCpu === undefined ? '-' : `${Math.round(run.serverCpu * 100)}%`,
          `${ms(run.probe.eventLoopDelay.p50)} / ${ms(run.probe.eventLoopDelay.p99)}`,
        ];
      }),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    console.log('');

    const ratio = catalog.result.requests.average / helloResult.result.requests.average;
    const catalogLatency = summarize(catalog.latencies);
    const typenameRatio = typename.result.requests.average / helloResult.result.requests.average;
    const keyedRatio = keyed.result.requests.average / helloResult.result.requests.average;
    const targets: [string, string, Target][] = [
      ['catalog req/s / hello req/s', ratio.toFixed(3), atLeast(ratio, 0.2, '>= 0.20')],
      ['catalog p99', ms(catalogLatency.p99), below(catalogLatency.p99, 25, '< 25 ms')],
      ['catalog with an API key req/s / hello req/s', keyedRatio.toFixed(3), info('reference')],
      ['__typename req/s / hello req/s', typenameRatio.toFixed(3), info('reference')],
    ];
    printTable(
      ['figure', 'value', 'target', ''],
      targets.map(([label, value, target]) => [label, value, target.label, verdict(target)]),
      [1],
    );
    if (catalog.result.non2xx + catalog.result.errors + catalog.result.timeouts > 0) {
      console.log(
        `\nnote: the catalog run had ${catalog.result.non2xx} non-2xx responses and ${catalog.result.errors} errors / ${catalog.result.timeouts} timeouts (status codes ${JSON.stringify(catalog.result.statusCodeStats)}).`,
      );
    }
    console.log('\n"server CPU": share of one core the server process used while measured (100% = one core busy).');
    console.log('"loop delay": the server\'s event-loop delay while measured (perf_hooks.monitorEventLoopDelay, 1 ms timer; 0 = never late).');

    if (catalogProfile) {
      console.log('');
      printProfileSummary(catalogProfile, 'CPU profile of the server during the measured catalog run, kept at');
    }
  } finally {
    await Promise.all([server.stop(), hello.stop()]);
  }
}

runMain(main);
