/**
 * Signal store: N deployments writing batches of 50 to one server, then two on one PostgreSQL (signals/s, latency, none lost or doubled), and bulk batches of 5,000 beside a bare INSERT of the same rows.
 *
 * Builds dist/ if stale. Creates a throwaway PostgreSQL database (CREATE DATABASE on --postgres-url,
 * default MP_BENCH_POSTGRES_URL or postgres://postgres@127.0.0.1:5432/postgres; skipped with a
 * message when PostgreSQL cannot be reached), migrates it, opens a round built from the bundled S&P
 * 500 history (`mp-server rounds create --open`), creates a vendor and starts server A: LOCAL
 * deployments per vendor raised to --deployments + 1, the vendor key's rate limit and the failed-
 * attempt limits out of reach, MP_TEMPLATES_DIR pointing at a silent serving template. A newer OPEN
 * round of our own (that round's splits, 500 symbols S000..S499) is inserted: the signals count for
 * it. --deployments (default 200) LOCAL deployments, and one more for the bulk test, are created on
 * A with rateLimitPerMinute 100,000 (the most allowed) and waited for until STARTING.
 *
 * Load, --duration s (default 30), with A alone, then with A and B (started later, same database;
 * deployment i talks to server i mod 2): deployment i POSTs 50 signals to /api/signals/store every
 * --interval ms (default 1000), the first at +i/N of an interval, over a keep-alive connection of its
 * own per server. A fixed rate with at most one batch in flight per deployment: one falling due while
 * the previous is unanswered goes when that answer arrives (lateness), one still waiting at the end
 * is not sent; so a server that cannot keep up sees a closed loop (--interval 0 asks for one) and the
 * latency (request() to the end of the answer) includes the queueing. Keys: deployment d's n-th
 * signal is symbol S(n mod 500) at asOf = T0 - floor(n / 500) s (T0: just before the first write,
 * so this month's partition), horizon 5, a score from (d, n): a batch is 50 distinct symbols at one
 * asOf, and no key is sent twice. Every token is used once on each server just before each window
 * (its argon2id check; it then stays cached 54 to 60 s, and the second window waits until A's
 * entries from the first have expired). Counts: signals in answered batches = sum of `written` =
 * rows of the signals table for those deployments (all of our round and vendor), nothing revised,
 * unchanged or rejected; then --replay batches (default 200, spread over the window) go again (to
 * the other server when there are two): each must answer 50 `unchanged`, the row count must stay.
 *
 * Bulk (A alone, between the windows): --bulk-batches batches of 5,000 (default 20; 500 symbols x
 * 10 asOf) with one deployment token, one at a time, each followed by the same rows (deployment,
 * vendor, round, symbol, asOf, horizon, score, confidence, now()) written from this process by one
 * `INSERT ... SELECT FROM unnest(...)` into a scratch table with the same columns, primary key and
 * indexes, unpartitioned (pg-copy-streams is not installed, so this stands in for COPY FROM STDIN),
 * and into one without indexes. Rates: signals over the summed time of each kind's batches.
 *
 * Machine load: load average; per window the CPU of each server, of this database's PostgreSQL
 * backends and of this process (it sends the load from the same cores), the servers' event-loop
 * delay (_server-probe.js); --profile adds a CPU profile of server A in the first window.
 * Options: --deployments N, --duration S, --interval MS, --replay N, --bulk-batches N, --profile, --postgres-url URL.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, renameSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import {
  atLeast,
  below,
  childEnv,
  count,
  ensureBuilt,
  info,
  ms,
  parseOptions,
  printHeader,
  printTable,
  progress,
  ROOT,
  runMain,
  SERVER_PROBE,
  summarize,
  temporaryDirectory,
  verdict,
  type Service,
  type Target,
} from './_harness';
import { printProfileSummary } from './_profile';
import {
  createDeployments,
  createPostgresDatabase,
  createVendor,
  DEFAULT_POSTGRES_URL,
  eachLimited,
  graphql,
  loadAverage,
  nowMs,
  openResourceWindow,
  postgresReachable,
  serverCommand,
  sleep,
  sp500Csv,
  startServer,
  writeSilentTemplate,
  type ResourceWindow,
} from './_servers';

const DESCRIPTION = 'POST /api/signals/store: N deployments x batches of 50, one server then two on PostgreSQL, and bulk 5,000s vs a bare INSERT';
const SYMBOLS = 500;
const BATCH = 50;
const BULK_BATCH = 5000;
const TOKEN_CACHE_MS = 60_000;
let T0 = 0;

const symbolOf = (i: number) => `S${String(i).padStart(3, '0')}`;
const signalOf = (d: number, n: number) => ({
  symbol: symbolOf(n % SYMBOLS),
  asOf: new Date(T0 - Math.floor(n / SYMBOLS) * 1000).toISOString(),
  horizonDays: 5,
  score: ((d * 7919 + n * 104_729) % 1000) / 1000,
  confidence: 0.5,
});
const batchOf = (d: number, first: number, size: number) => Array.from({ length: size }, (_, j) => signalOf(d, first + j));

// ---------------------------------------------------------------------------------------
// HTTP

type Endpoint = { label: string; service: Service; url: URL; index: number };
type Writer = { index: number; id: string; token: string; next: number; agents: http.Agent[] };
type WriteResult = { written: number; revised: number; unchanged: number; rejected: unknown[] };
type Answer = { status: number; text: string; ms: number };

/** A keep-alive POST; one on a reused socket the server had just closed is sent once more (as clients do: writes are idempotent). */
function post(endpoint: Endpoint, writer: Writer, path: string, body: string, retry = true): Promise<Answer> {
  // Idle sockets are dropped before the server's keepAliveTimeout (5 s): node heeds its Keep-Alive hint only with an agent timeout.
  const agent = (writer.agents[endpoint.index] ??= new http.Agent({ keepAlive: true, maxSockets: 1, timeout: 4000 }));
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${writer.token}` };
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const request = http.request({ agent, host: endpoint.url.hostname, port: endpoint.url.port, path, method: 'POST', headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }));
    });
    request.on('error', (error) => (retry && request.reusedSocket ? resolve(post(endpoint, writer, path, body, false)) : reject(error)));
    request.end(body);
  });
}

/** One batch; a failure is pushed onto `errors` (and no result returned). */
async function store(endpoint: Endpoint, writer: Writer, signals: unknown[], errors: string[]) {
  const answer = await post(endpoint, writer, '/api/signals/store', JSON.stringify({ signals })).catch((error: Error) => ({
    status: 0,
    text: error.message,
    ms: 0,
  }));
  if (answer.status === 200) return { result: JSON.parse(answer.text) as WriteResult, ms: answer.ms };
  errors.push(`HTTP ${answer.status} ${answer.text.slice(0, 200)}`);
  return { ms: answer.ms };
}

const describe = (errors: string[]) => `${errors.length} (${[...new Set(errors)].slice(0, 3).join('; ')})`;

/** The first use of each token on each server: its argon2id check, then 54 to 60 s in that server's cache. */
async function warmUp(endpoints: Endpoint[], writers: Writer[]): Promise<{ startedAt: number; endedAt: number }> {
  const startedAt = nowMs();
  const body = JSON.stringify({ query: '{ __typename }' });
  await Promise.all(
    endpoints.map((endpoint) =>
      eachLimited(writers, 3, async (writer) => {
        const answer = await post(endpoint, writer, '/graphql', body);
        if (answer.status !== 200 || !answer.text.includes('__typename'))
          throw new Error(`warm-up on ${endpoint.label}: ${answer.status} ${answer.text.slice(0, 300)}`);
      }),
    ),
  );
  return { startedAt, endedAt: nowMs() };
}

// ---------------------------------------------------------------------------------------
// A window of load

type Sent = { writer: Writer; batch: number; server: number };

async function runLoad(endpoints: Endpoint[], writers: Writer[], seconds: number, intervalMs: number, stats: PgClient) {
  const load = {
    latency: [] as number[],
    perServer: endpoints.map(() => [] as number[]),
    fromSchedule: [] as number[],
    lateness: [] as number[],
    sent: [] as Sent[],
    totals: { written: 0, revised: 0, unchanged: 0, rejected: 0 },
    errors: [] as string[],
    /** Batches due in the window (0: a closed loop). */
    planned: 0,
    seconds,
  };
  const services = endpoints.map((endpoint) => endpoint.service);
  const closeWindow = await openResourceWindow(services, stats);
  const start = nowMs() + 50;
  const end = start + seconds * 1000;
  const offset = (i: number) => (i / writers.length) * intervalMs;
  if (intervalMs > 0) for (let i = 0; i < writers.length; i += 1) load.planned += Math.ceil((seconds * 1000 - offset(i)) / intervalMs);
  await Promise.all(
    writers.map(async (writer, i) => {
      const server = i % endpoints.length;
      for (let k = 0; ; k += 1) {
        const scheduled = intervalMs ? start + offset(i) + k * intervalMs : Math.max(start, nowMs()); // a closed loop is never late
        if (scheduled >= end) break;
        if (scheduled > nowMs()) await sleep(scheduled - nowMs());
        if (nowMs() >= end) break;
        load.lateness.push(Math.max(0, nowMs() - scheduled));
        const batch = writer.next++;
        const { result, ms: took } = await store(endpoints[server], writer, batchOf(writer.index, batch * BATCH, BATCH), load.errors);
        if (!result) continue;
        load.latency.push(took);
        load.perServer[server].push(took);
        load.fromSchedule.push(nowMs() - scheduled);
        load.sent.push({ writer, batch, server });
        load.totals.written += result.written;
        load.totals.revised += result.revised;
        load.totals.unchanged += result.unchanged;
        load.totals.rejected += result.rejected.length;
      }
    }),
  );
  load.seconds = (nowMs() - start) / 1000;
  return { ...load, window: await closeWindow(load.seconds) };
}

/** Sends `sample` of the answered batches again (to the next server); each must answer all `unchanged`. */
async function replay(endpoints: Endpoint[], sent: Sent[], sample: number) {
  const n = Math.min(sample, sent.length);
  const errors: string[] = [];
  let allUnchanged = 0;
  await eachLimited(
    Array.from({ length: n }, (_, i) => sent[Math.floor((i * sent.length) / n)]),
    8,
    async ({ writer, batch, server }) => {
      const { result } = await store(endpoints[(server + 1) % endpoints.length], writer, batchOf(writer.index, batch * BATCH, BATCH), errors);
      if (result?.unchanged === BATCH && result.written + result.revised + result.rejected.length === 0) allUnchanged += 1;
      else if (result) errors.push(`not all unchanged: ${JSON.stringify(result).slice(0, 200)}`);
    },
  );
  return { batches: n, allUnchanged, errors };
}

async function main(): Promise<void> {
  const defaults = { deployments: 200, duration: 30, interval: 1000, replay: 200, bulkBatches: 20, profile: false, postgresUrl: '' };
  const options = parseOptions(process.argv.slice(2), defaults, {
    deployments: [2, 1000],
    duration: [3, 600],
    interval: [0, 60_000],
    replay: [0, 100_000],
    bulkBatches: [1, 1000],
  });
  const adminUrl = options.postgresUrl || process.env.MP_BENCH_POSTGRES_URL || DEFAULT_POSTGRES_URL;
  printHeader('signals', DESCRIPTION, [
    ['build', ensureBuilt()],
    ['load', loadAverage()],
  ]);
  const unreachable = await postgresReachable(adminUrl);
  if (unreachable) {
    console.log(`skipped: this benchmark needs PostgreSQL (two server processes) and cannot reach ${adminUrl}: ${unreachable}`);
    console.log('(set MP_BENCH_POSTGRES_URL or pass --postgres-url to point it at one)');
    return;
  }
  const database = await createPostgresDatabase(adminUrl);
  const services: Service[] = [];
  const writers: Writer[] = [];
  const notes: string[] = [];
  const stats = new PgClient({ connectionString: database.url });
  try {
    const env = childEnv({
      DATABASE_URL: database.url,
      MP_DATA_DIR: temporaryDirectory('signals-data'),
      MP_SIGNING_SECRET: randomBytes(32).toString('hex'),
      MP_TEMPLATES_DIR: writeSilentTemplate(),
      MP_RATE_LIMIT_PER_KEY_PER_MINUTE: '1000000',
      MP_AUTH_FAILURES_PER_KEY: '10000',
      MP_AUTH_FAILURES_PER_ADDRESS: '100000',
      MP_LOCAL_DEPLOYMENTS_PER_VENDOR: String(options.deployments + 1),
      PORT: '0',
      HOST: '127.0.0.1',
      MP_LOG_LEVEL: 'warn',
    });
    progress(`database ${database.name}: migrate, rounds create --open, vendor create, server A`);
    await serverCommand(['migrate'], env);
    await serverCommand(['rounds', 'create', '--from', sp500Csv(), '--open'], env);
    const vendor = await createVendor(env);
    const profile = options.profile ? path.join(temporaryDirectory('profile'), 'server-a.cpuprofile') : undefined;
    const start = async (label: string, extra: Record<string, string> = {}): Promise<Endpoint> => {
      const service = await startServer(`server ${label}`, { ...env, ...extra }, ['--require', SERVER_PROBE]);
      return { label, service, url: new URL(service.url), index: services.push(service) - 1 };
    };
    const a = await start('A', profile ? { MP_BENCH_PROFILE: profile } : {});
    await stats.connect();
    const { rows } = await stats.query<{ number: number }>(
      `INSERT INTO dataset_rounds (number, name, status, symbols, horizon_days, feature_names, splits, target_thresholds)
       SELECT number + 1, 'signals benchmark', 'OPEN', $1::text[], horizon_days, feature_names, splits, target_thresholds
       FROM dataset_rounds ORDER BY number DESC LIMIT 1 RETURNING number`,
      [Array.from({ length: SYMBOLS }, (_, i) => symbolOf(i))],
    );
    const round = rows[0].number;
    type Round = { number: number; symbols: string[]; splits: { kind: string; firstDate: string }[] };
    const query = '{ currentRound { number symbols splits { kind firstDate } } }';
    const { currentRound } = await graphql<{ currentRound: Round }>(a.service.url, query, {}, vendor.apiKey);
    if (currentRound.number !== round || currentRound.symbols.length !== SYMBOLS)
      throw new Error(`the open round is ${currentRound.number}, not ours (${round})`);

    progress(`creating ${options.deployments} + 1 deployments on A`);
    const input = { heartbeatIntervalSeconds: 300, rateLimitPerMinute: 100_000 };
    const inputs = Array.from({ length: options.deployments + 1 }, (_, i) => ({ name: `signals-${i}`, ...input }));
    const created = await createDeployments(a.service.url, vendor.apiKey, inputs);
    writers.push(...created.map(({ id, token }, index) => ({ index, id, token, next: 0, agents: [] })));
    const bulkWriter = writers[options.deployments];
    const loadWriters = writers.slice(0, options.deployments);
    T0 = Math.floor(Date.now() / 1000) * 1000 - 1000;
    const liveFrom = currentRound.splits.find((split) => split.kind === 'LIVE')?.firstDate ?? '1970-01-01';
    if (T0 - 1e9 < Date.parse(`${liveFrom}T00:00:00Z`)) throw new Error(`round ${round}'s live period (from ${liveFrom}) is too short`);

    const countRows = async (ids: string[]) => {
      const sql =
        'SELECT count(*)::int AS n, count(*) FILTER (WHERE round_number <> $2 OR vendor_id <> $3)::int AS other FROM signals WHERE deployment_id = ANY($1)';
      return (await stats.query<{ n: number; other: number }>(sql, [ids, round, vendor.vendorId])).rows[0];
    };
    const ids = loadWriters.map((writer) => writer.id);
    const runPhase = async (name: string, endpoints: Endpoint[]) => {
      progress(`${name}: warm-up, then ${options.duration} s of load`);
      const before = (await countRows(ids)).n;
      const warmed = await warmUp(endpoints, loadWriters);
      const load = await runLoad(endpoints, loadWriters, options.duration, options.interval, stats);
      if (nowMs() - warmed.startedAt > TOKEN_CACHE_MS * 0.9)
        notes.push(`${name}: the window ended ${((nowMs() - warmed.startedAt) / 1000).toFixed(0)} s after the warm-up began: it includes argon2id re-checks`);
      if (load.sent.length < load.planned * 0.95)
        notes.push(
          `${name}: ${count(load.sent.length)} of ${count(load.planned)} planned batches sent: the servers did not keep up, latency includes the queue`,
        );
      const after = await countRows(ids);
      const replayed = await replay(endpoints, load.sent, options.replay);
      const rowsAfterReplay = (await countRows(ids)).n - before;
      return { ...load, name, endpoints, rows: after.n - before, otherRows: after.other, replayed, rowsAfterReplay, warmedAt: warmed.endedAt };
    };
    const first = await runPhase('1 server (A)', [a]);
    if (profile) renameSync(profile, `${profile}.1`);

    progress(`bulk: ${options.bulkBatches} batches of ${count(BULK_BATCH)} on A, each followed by the baseline`);
    await stats.query('CREATE TABLE bench_scratch (LIKE signals INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)');
    await stats.query('CREATE TABLE bench_scratch_bare (LIKE signals INCLUDING DEFAULTS)');
    await warmUp([a], [bulkWriter]);
    const bulk = { store: [] as number[], indexed: [] as number[], bare: [] as number[], written: 0, errors: [] as string[] };
    const closeBulk = await openResourceWindow([a.service], stats);
    const bulkStarted = nowMs();
    for (let i = 0; i < options.bulkBatches; i += 1) {
      const signals = batchOf(bulkWriter.index, i * BULK_BATCH, BULK_BATCH);
      const { result, ms: took } = await store(a, bulkWriter, signals, bulk.errors);
      if (result) bulk.store.push(took);
      bulk.written += result?.written ?? 0;
      for (const table of ['bench_scratch', 'bench_scratch_bare']) {
        const started = performance.now();
        const columns = (['symbol', 'asOf', 'horizonDays', 'score', 'confidence'] as const).map((column) => signals.map((signal) => signal[column]));
        await stats.query(
          `INSERT INTO ${table} (deployment_id, vendor_id, model_id, round_number, symbol, as_of, horizon_days, score, confidence, written_at)
           SELECT $1, $2, NULL, $3, symbol, as_of, horizon_days, score, confidence, now()
           FROM unnest($4::text[], $5::timestamptz[], $6::int[], $7::float8[], $8::float8[]) AS t(symbol, as_of, horizon_days, score, confidence)`,
          [bulkWriter.id, vendor.vendorId, round, ...columns],
        );
        (table === 'bench_scratch' ? bulk.indexed : bulk.bare).push(performance.now() - started);
      }
    }
    const bulkSeconds = (nowMs() - bulkStarted) / 1000;
    const bulkWindow = await closeBulk(bulkSeconds);
    const bulkRows = (await countRows([bulkWriter.id])).n;

    progress('starting server B on the same database');
    const b = await start('B');
    const wait = first.warmedAt + TOKEN_CACHE_MS + 1000 - nowMs();
    if (wait > 0) progress(`waiting ${(wait / 1000).toFixed(0)} s for A's cached tokens to expire, so that no argon2id check falls in the window`);
    await sleep(Math.max(0, wait));
    const phases = [first, await runPhase('2 servers (A, B)', [a, b])];

    // ---- Report
    console.log(
      `Load: ${loadWriters.length} deployments, ${options.interval ? `a batch of ${BATCH} every ${options.interval} ms each (fixed rate, at most one in flight per deployment)` : `batches of ${BATCH} back to back (closed loop)`}, ${options.duration} s per window; round ${round}, ${SYMBOLS} symbols.\n`,
    );
    const latencyRows: [string, number[], Target][] = [];
    for (const { name, endpoints, latency, perServer, fromSchedule, lateness } of phases) {
      latencyRows.push([`write latency, ${name}`, latency, below(summarize(latency).p99, 100, 'p99 < 100 ms')]);
      if (endpoints.length > 1) endpoints.forEach((endpoint, i) => latencyRows.push([`  on server ${endpoint.label}`, perServer[i], info('')]));
      if (options.interval)
        latencyRows.push(['  from the scheduled send', fromSchedule, info('with the wait for the previous')], ['  send lateness', lateness, info('')]);
    }
    latencyRows.push(
      [`bulk batch of ${count(BULK_BATCH)} (POST, one at a time)`, bulk.store, info('')],
      ['  baseline INSERT ... unnest, same key and indexes', bulk.indexed, info('')],
      ['  the same into a table without indexes', bulk.bare, info('')],
    );
    printTable(
      ['figure', 'n', 'p50', 'p90', 'p99', 'max', 'target', ''],
      latencyRows.map(([label, samples, target]) => {
        const s = summarize(samples);
        return [label, count(s.n), ms(s.p50), ms(s.p90), ms(s.p99), ms(s.max), target.label, verdict(target)];
      }),
      [1, 2, 3, 4, 5],
    );
    console.log('');
    const counts: [string, string, Target][] = [];
    for (const { name, endpoints, sent, seconds, planned, totals, errors, rows: added, otherRows, replayed, rowsAfterReplay } of phases) {
      const signals = sent.length * BATCH;
      const plannedText = planned ? `${count((planned * BATCH) / options.duration)} planned` : 'closed loop';
      counts.push(
        [`signals/s, ${name}`, `${count(signals / seconds)} (${count(sent.length / seconds)} batches/s; ${plannedText})`, info('')],
        [
          '  sent = sum of written = rows in signals',
          `${count(signals)} = ${count(totals.written)} = ${count(added)}`,
          { label: 'all equal', met: signals === totals.written && totals.written === added && otherRows === 0 },
        ],
        [
          '  revised / unchanged / rejected / errors',
          `${totals.revised} / ${totals.unchanged} / ${totals.rejected} / ${errors.length}`,
          { label: '0 / 0 / 0 / 0', met: totals.revised + totals.unchanged + totals.rejected + errors.length === 0 },
        ],
        [
          `  replayed batches all unchanged${endpoints.length > 1 ? ' (other server)' : ''}`,
          `${replayed.allUnchanged}/${replayed.batches}; rows after ${count(rowsAfterReplay)}`,
          { label: 'all; rows same', met: replayed.allUnchanged === replayed.batches && rowsAfterReplay === added },
        ],
      );
    }
    const bulkSignals = options.bulkBatches * BULK_BATCH;
    const [storeRate, indexedRate, bareRate] = [bulk.store, bulk.indexed, bulk.bare].map(
      (list) => (bulkSignals * 1000) / list.reduce((sum, value) => sum + value, 0),
    );
    counts.push(
      ['bulk signals/s, POST /api/signals/store', count(storeRate), info('')],
      [
        '  baseline INSERT ... unnest (same key, indexes)',
        count(indexedRate),
        info(`pg-copy-streams ${existsSync(path.join(ROOT, 'node_modules', 'pg-copy-streams')) ? 'installed, unused' : 'absent'}`),
      ],
      ['  store / baseline', (storeRate / indexedRate).toFixed(2), atLeast(storeRate / indexedRate, 0.5, '>= 0.5')],
      ['  INSERT into a table without indexes', `${count(bareRate)} (store / it ${(storeRate / bareRate).toFixed(2)})`, info('')],
      [
        '  bulk: written = rows; errors',
        `${count(bulk.written)} = ${count(bulkRows)} of ${count(bulkSignals)}; ${bulk.errors.length}`,
        { label: 'all equal; 0', met: bulk.written === bulkSignals && bulkRows === bulkSignals && bulk.errors.length === 0 },
      ],
    );
    printTable(
      ['count', 'value', 'target', ''],
      counts.map(([label, value, target]) => [label, value, target.label, verdict(target)]),
    );
    console.log('');
    const percent = (cores: number) => `${(cores * 100).toFixed(0)}%`;
    const labelOf = (endpoint: Endpoint) => endpoint.label;
    const windowRow = (name: string, labels: string[], window: ResourceWindow, batchesPerSecond: number) => [
      name,
      labels.map((label, i) => `${label} ${percent(window.services[i])}`).join(', '),
      labels.map((label, i) => `${label} ${window.loops[i]}`).join(', '),
      percent(window.postgres),
      percent(window.bench),
      ms(((window.services.reduce((sum, value) => sum + value, 0) + window.postgres) * 1000) / batchesPerSecond),
    ];
    printTable(
      ['window', 'server CPU (100% = 1 core)', 'event loop delay p99 / max', 'PostgreSQL backends', 'this benchmark', 'server + PG CPU per batch'],
      [
        ...phases.map((phase) => windowRow(phase.name, phase.endpoints.map(labelOf), phase.window, phase.sent.length / phase.seconds)),
        windowRow('bulk (A; PG without the baseline)', ['A'], bulkWindow, bulk.store.length / bulkSeconds),
      ],
      [3, 4, 5],
    );
    for (const { name, errors, replayed } of phases) {
      if (errors.length) console.log(`${name}: errors: ${describe(errors)}`);
      if (replayed.errors.length) console.log(`${name}: replay: ${describe(replayed.errors)}`);
    }
    if (bulk.errors.length) console.log(`bulk: errors: ${describe(bulk.errors)}`);
    const partitions = await stats.query<{ partition: string; n: number }>(
      'SELECT tableoid::regclass::text AS partition, count(*)::int AS n FROM signals GROUP BY 1 ORDER BY 1',
    );
    console.log(`Rows by partition: ${partitions.rows.map((row) => `${row.partition} ${count(row.n)}`).join(', ')}.`);
    console.log('Bulk baseline: the rows are built here and sent over one connection; the POST adds HTTP, JSON, validation and the upsert to that.');
    for (const note of notes) console.log(`note: ${note}`);
    if (profile) printProfileSummary(`${profile}.1`, 'CPU profile of server A in the one-server window');
    console.log(`Load average at the end: ${loadAverage()}.`);
  } finally {
    for (const writer of writers) for (const agent of writer.agents) agent?.destroy();
    await Promise.all(services.map((service) => service.stop()));
    await stats.end().catch(() => undefined);
    await database.drop();
  }
}

runMain(main);
