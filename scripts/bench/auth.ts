/**
 * API key validation: first-time (argon2id), cached, and garbage-key rejection latency.
 *
 * Uses the real KeyValidator against a real embedded database (startTestServer: a migrated,
 * seeded in-memory PGlite) and a real vendor key, timing each call with
 * process.hrtime.bigint(). First-time samples each use a fresh validator (empty cache), so
 * they pay the database lookup and the argon2id verify; the cached and garbage samples go
 * through the server's own validator. With DATABASE_URL set, the database is a fresh
 * PostgreSQL one instead (as in the tests), and the header says so.
 */
import { createLogger } from '../../server/logger';
import { DomainError } from '../../server/domain-error';
import { KeyValidator } from '../../server/modules/identity/key-validator';
import { apiKeyFormat } from '../../server/modules/identity/api-key-token';
import { verifySecret } from '../../server/tokens/secret-hash';
import { startTestServer, usingPostgres } from '../../test/helpers/server';
import { below, info, ms, count, printHeader, printTable, progress, runMain, summarize, verdict, type Summary, type Target } from './_harness';

const FIRST_TIME_SAMPLES = 50;
const FIRST_TIME_WARMUP = 3;
const FAST_SAMPLES = 100_000;
const FAST_WARMUP = 5_000;

function elapsedMs(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** A token whose last (checksum) character is changed: rejected by apiKeyFormat.parse before any lookup. */
function withBadChecksum(token: string): string {
  const last = token.at(-1);
  const bad = token.slice(0, -1) + (last === 'A' ? 'B' : 'A');
  const parsed = apiKeyFormat.parse(bad);
  if (parsed.ok || !parsed.reason.includes('checksum')) throw new Error(`expected a checksum failure, got ${JSON.stringify(parsed)}`);
  return bad;
}

async function main(): Promise<void> {
  printHeader('auth', 'API key validation latency (KeyValidator.authenticate)', [
    ['code', 'server sources through tsx (no build needed)'],
    ['database', usingPostgres ? 'PostgreSQL, a fresh database on DATABASE_URL' : "embedded PGlite in memory (the tests' migrated, seeded template)"],
  ]);
  progress('starting a test server on a fresh seeded in-memory database');
  const server = await startTestServer();
  try {
    const { dataSource, notifications } = server.database;
    const keys = server.app.services.keys;
    const silent = createLogger('silent');
    const vendor = await server.createVendor('Bench Vendor');
    const token = vendor.apiKey;
    const parsed = apiKeyFormat.parse(token);
    if (!parsed.ok) throw new Error(`createVendor returned a key that does not parse: ${parsed.reason}`);
    const [{ secret_hash: secretHash }] = (await dataSource.query('SELECT secret_hash FROM api_keys WHERE lookup = $1', [parsed.lookup])) as {
      secret_hash: string;
    }[];
    const garbage = withBadChecksum(token);

    // Wait for whatever the previous sample left queued on the single PGlite connection
    // (the lastUsedAt UPDATE a cache miss fires off the request path), outside the timing.
    const settle = () => dataSource.query('SELECT 1');

    // (a) first-time: a fresh validator per sample, so the cache is empty.
    progress(`first-time validation: ${FIRST_TIME_WARMUP} warm-up + ${FIRST_TIME_SAMPLES} samples (~30 ms each)`);
    const firstTime: number[] = [];
    for (let i = 0; i < FIRST_TIME_WARMUP + FIRST_TIME_SAMPLES; i += 1) {
      const validator = new KeyValidator(dataSource, notifications, silent, server.config.keyCacheTtlMs, server.config.authFailures);
      await settle();
      const started = process.hrtime.bigint();
      const principal = await validator.authenticate(token);
      const took = elapsedMs(started);
      if (principal.vendorId !== vendor.vendorId) throw new Error(`authenticated as ${JSON.stringify(principal)}, expected vendor ${vendor.vendorId}`);
      if (i >= FIRST_TIME_WARMUP) firstTime.push(took);
    }
    await settle();

    // The argon2id verify alone (no database), to split the first-time figure.
    const argon2Only: number[] = [];
    for (let i = 0; i < FIRST_TIME_WARMUP + FIRST_TIME_SAMPLES; i += 1) {
      const started = process.hrtime.bigint();
      const ok = await verifySecret(secretHash, token);
      const took = elapsedMs(started);
      if (!ok) throw new Error('verifySecret rejected the key it was created with');
      if (i >= FIRST_TIME_WARMUP) argon2Only.push(took);
    }

    // (b) cached: the server's own validator, after one call has filled its cache.
    progress(`cached validation: ${count(FAST_WARMUP)} warm-up + ${count(FAST_SAMPLES)} samples`);
    await keys.authenticate(token);
    await settle();
    const cached = new Float64Array(FAST_SAMPLES);
    for (let i = -FAST_WARMUP; i < FAST_SAMPLES; i += 1) {
      const started = process.hrtime.bigint();
      const principal = await keys.authenticate(token);
      const took = elapsedMs(started);
      if (principal.vendorId !== vendor.vendorId) throw new Error(`cached validation returned ${JSON.stringify(principal)}`);
      if (i >= 0) cached[i] = took;
    }

    // (c) garbage: a bad checksum, rejected before any cache, database or hash work.
    progress(`garbage-key rejection: ${count(FAST_WARMUP)} warm-up + ${count(FAST_SAMPLES)} samples`);
    const rejected = new Float64Array(FAST_SAMPLES);
    for (let i = -FAST_WARMUP; i < FAST_SAMPLES; i += 1) {
      const started = process.hrtime.bigint();
      let error: unknown;
      try {
        await keys.authenticate(garbage);
      } catch (caught) {
        error = caught;
      }
      const took = elapsedMs(started);
      if (!(error instanceof DomainError) || error.code !== 'UNAUTHENTICATED')
        throw new Error(`a garbage key was not refused as UNAUTHENTICATED: ${String(error)}`);
      if (i >= 0) rejected[i] = took;
    }

    // What an empty sample costs (two hrtime.bigint() calls and an await), for scale.
    const overhead = new Float64Array(FAST_SAMPLES);
    for (let i = 0; i < FAST_SAMPLES; i += 1) {
      const started = process.hrtime.bigint();
      await undefined;
      overhead[i] = elapsedMs(started);
    }

    const rows: [string, Summary, Target][] = [];
    const first = summarize(firstTime);
    rows.push(['(a) first-time: DB lookup + argon2id verify', first, info('about 30 ms')]);
    rows.push(['    of which argon2id verify alone', summarize(argon2Only), info('m=19 MiB, t=2, p=1')]);
    const cachedSummary = summarize(cached);
    rows.push(['(b) cached (SHA-256 + LRU hit)', cachedSummary, below(cachedSummary.p99, 0.5, 'p99 < 0.5 ms')]);
    const garbageSummary = summarize(rejected);
    rows.push(['(c) garbage key (bad checksum)', garbageSummary, below(garbageSummary.p99, 0.05, 'p99 < 0.05 ms')]);
    rows.push(['    timer overhead (empty sample)', summarize(overhead), info('for scale')]);

    printTable(
      ['case', 'samples', 'mean', 'p50', 'p99', 'max', 'target', ''],
      rows.map(([label, s, target]) => [label, count(s.n), ms(s.mean), ms(s.p50), ms(s.p99), ms(s.max), target.label, verdict(target)]),
      [1, 2, 3, 4, 5],
    );
    console.log('');
    console.log(`Cache TTL ${server.config.keyCacheTtlMs / 1000} s; one process, timings include the await of each call; max includes GC pauses.`);
  } finally {
    await server.close();
  }
}

runMain(main);
