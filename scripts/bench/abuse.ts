/**
 * Abuse: signed-download p99 while 16 clients send wrong secrets, and server RSS under 100 sockets x 1,000 subscriptions.
 *
 * Builds dist/ if stale, creates a vendor with the server stopped, then starts the compiled
 * server on a fresh embedded data directory (the demo round is seeded). Three phases, each
 * downloading the demo round's smallest file DOWNLOADS times in a row through its signed URL
 * (fetch, whole body read) and timing each download:
 *  1. quiet: nothing else happens (the baseline of the same run);
 *  2. attack: 16 clients in loops send `me` with a well-formed key (right checksum) for the
 *     vendor's key id and a fresh wrong secret each time, on the default limits; the downloads
 *     are timed from 2 s after the attack starts (its first 10 attempts are hashed, then every
 *     attempt is refused from memory and its answer held a second);
 *  3. attack with the failed-attempt limits raised out of reach (a restart with
 *     MP_AUTH_FAILURES_PER_KEY / _PER_ADDRESS at their maximum): what the hashing bound alone holds.
 * Then 100 WebSockets each try to start 1,000 `serverTime` subscriptions in one burst, without
 * a key; the server's VmRSS is read before, at the peak (sampled every 50 ms) and after, and
 * /readyz is timed during the flood beside the same probe while quiet.
 */
import { crc32 } from 'node:zlib';
import WebSocket from 'ws';
import {
  below,
  childEnv,
  ensureBuilt,
  info,
  ms,
  printHeader,
  printTable,
  progress,
  runMain,
  summarize,
  temporaryDirectory,
  verdict,
  type Target,
} from './_harness';
import { createVendor, graphql, loadAverage, mib, rssBytes, sleep, startServer } from './_servers';
import { encodeBase62, randomBase62 } from '../../server/db/ids';
import { TokenFormat } from '../../server/tokens/token-format';
import { DataRoundDownloadsDocument, type DataRoundDownloadsQuery } from '../../generated/cli-operations';

const DOWNLOADS = 500;
/** The attack runs this long before the downloads are timed: the limits take hold in its first few attempts. */
const ATTACK_SETTLE_MS = 2000;
const ATTACKERS = 16;
const SOCKETS = 100;
const SUBSCRIPTIONS_PER_SOCKET = 1000;
const SAMPLE_EVERY_MS = 50;
const READY_PROBES = 40;

interface Attack {
  stop(): Promise<{ attempts: number; byStatus: Record<string, number>; perSecond: number }>;
}

/** A well-formed key for `apiKey`'s id with a fresh wrong secret. */
function wrongSecretFor(apiKey: string): string {
  const body = `vk_${apiKey.split('_')[1]}_${randomBase62(TokenFormat.lengths.secret)}`;
  return body + encodeBase62(crc32(body), TokenFormat.lengths.checksum);
}

function attack(graphqlUrl: string, apiKey: string): Attack {
  let running = true;
  const byStatus: Record<string, number> = {};
  const started = Date.now();
  const loops = Array.from({ length: ATTACKERS }, async () => {
    while (running) {
      const response = await fetch(graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${wrongSecretFor(apiKey)}` },
        body: '{"query":"{ me { role } }"}',
      });
      await response.arrayBuffer();
      byStatus[response.status] = (byStatus[response.status] ?? 0) + 1;
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      const attempts = Object.values(byStatus).reduce((a, b) => a + b, 0);
      return { attempts, byStatus, perSecond: attempts / ((Date.now() - started) / 1000) };
    },
  };
}

async function timeDownloads(url: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < DOWNLOADS; i += 1) {
    const started = process.hrtime.bigint();
    const response = await fetch(url);
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`download answered ${response.status}`);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return times;
}

async function smallestFileUrl(graphqlUrl: string, apiKey: string): Promise<{ url: string; name: string; sizeBytes: number }> {
  const { round } = await graphql<DataRoundDownloadsQuery>(graphqlUrl, DataRoundDownloadsDocument.toString(), { number: 1, expiresInSeconds: 3600 }, apiKey);
  const file = [...round.files].sort((a, b) => a.sizeBytes - b.sizeBytes)[0];
  if (!file) throw new Error('the demo round has no files');
  return { url: file.downloadUrl, name: file.name, sizeBytes: file.sizeBytes };
}

async function timeReadiness(baseUrl: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < READY_PROBES; i += 1) {
    const started = process.hrtime.bigint();
    const response = await fetch(`${baseUrl}/readyz`);
    await response.arrayBuffer();
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    await sleep(25);
  }
  return times;
}

interface Flood {
  acknowledged: number;
  refusedUpgrades: number;
  closedAtInit: number;
  running: number;
  refusedSubscriptions: number;
  close(): Promise<void>;
}

/** Opens SOCKETS sockets; each acknowledged one sends SUBSCRIPTIONS_PER_SOCKET subscribes at once. */
async function flood(wsUrl: string): Promise<Flood> {
  const result = { acknowledged: 0, refusedUpgrades: 0, closedAtInit: 0, running: 0, refusedSubscriptions: 0 };
  const sockets: WebSocket[] = [];
  await Promise.all(
    Array.from(
      { length: SOCKETS },
      (_, socketIndex) =>
        new Promise<void>((resolve) => {
          const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
          sockets.push(socket);
          const answered = new Set<string>();
          let settled = false;
          const settle = () => {
            if (!settled) {
              settled = true;
              resolve();
            }
          };
          socket.on('unexpected-response', (_request, response) => {
            response.resume();
            result.refusedUpgrades += 1;
            settle();
          });
          socket.on('error', settle);
          socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: {} })));
          socket.on('close', () => {
            if (answered.size === 0 && !settled) result.closedAtInit += 1;
            settle();
          });
          socket.on('message', (data) => {
            const message = JSON.parse(String(data)) as { type: string; id?: string };
            if (message.type === 'connection_ack') {
              result.acknowledged += 1;
              for (let i = 0; i < SUBSCRIPTIONS_PER_SOCKET; i += 1) {
                const variables = { intervalSeconds: 1 + ((socketIndex * SUBSCRIPTIONS_PER_SOCKET + i) % 60) };
                socket.send(
                  JSON.stringify({
                    id: String(i),
                    type: 'subscribe',
                    payload: { query: 'subscription ($intervalSeconds: Int!) { serverTime(intervalSeconds: $intervalSeconds) { sequence } }', variables },
                  }),
                );
              }
              return;
            }
            if (!message.id || answered.has(message.id)) return;
            answered.add(message.id);
            if (message.type === 'next') result.running += 1;
            if (message.type === 'error') result.refusedSubscriptions += 1;
            if (answered.size === SUBSCRIPTIONS_PER_SOCKET) settle();
          });
          setTimeout(settle, 15_000);
        }),
    ),
  );
  return {
    ...result,
    async close() {
      await Promise.all(
        sockets.map(
          (socket) =>
            new Promise<void>((resolve) => {
              if (socket.readyState === WebSocket.CLOSED) return resolve();
              socket.once('close', () => resolve());
              socket.close(1000);
            }),
        ),
      );
    },
  };
}

async function main(): Promise<void> {
  const build = ensureBuilt();
  printHeader('abuse', `signed-download p99 with ${ATTACKERS} wrong-secret clients; RSS under ${SOCKETS} sockets x ${SUBSCRIPTIONS_PER_SOCKET} subscriptions`, [
    ['build', build],
    ['load', loadAverage()],
  ]);
  const dataDir = temporaryDirectory('abuse-data');
  const serverEnv = childEnv({ MP_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', MP_LOG_LEVEL: 'warn' });
  progress('creating a vendor with the server stopped');
  const vendor = await createVendor(serverEnv);

  progress('starting the compiled server (default limits)');
  let server = await startServer('mp-server', serverEnv);
  const rows: [string, string, Target][] = [];
  let quiet: ReturnType<typeof summarize>;
  try {
    const file = await smallestFileUrl(server.url, vendor.apiKey);
    progress(`phase 1: ${DOWNLOADS} quiet downloads of ${file.name} (${file.sizeBytes} bytes)`);
    await timeDownloads(file.url); // warm-up
    quiet = summarize(await timeDownloads(file.url));

    progress(`phase 2: the same downloads while ${ATTACKERS} clients send wrong secrets for the vendor's key id`);
    const attackers = attack(server.url, vendor.apiKey);
    await sleep(ATTACK_SETTLE_MS);
    const attacked = summarize(await timeDownloads(file.url));
    const attempts = await attackers.stop();

    rows.push([`download p99, quiet (${DOWNLOADS} downloads)`, ms(quiet.p99), info(`p50 ${ms(quiet.p50)}`)]);
    rows.push([
      `download p99, ${ATTACKERS} wrong-secret clients (default limits)`,
      ms(attacked.p99),
      below(attacked.p99, 2 * quiet.p99, `< 2x quiet (${ms(2 * quiet.p99)}); p50 ${ms(attacked.p50)}`),
    ]);
    rows.push([
      '  their attempts: answers by status',
      Object.entries(attempts.byStatus)
        .map(([status, n]) => `${status}: ${n}`)
        .join(', '),
      info(`${attempts.perSecond.toFixed(0)} attempts/s`),
    ]);
    const wsBase = server.url.replace(/^http/, 'ws');
    const baseUrl = server.url.replace(/\/graphql$/, '');

    progress('readiness probes while quiet');
    const readyQuiet = summarize(await timeReadiness(baseUrl));
    const pid = server.child.pid!;
    await sleep(1000);
    const rssBefore = rssBytes(pid) ?? Number.NaN;
    progress(`flood: ${SOCKETS} sockets x ${SUBSCRIPTIONS_PER_SOCKET} subscriptions`);
    const samples: number[] = [];
    const sampler = setInterval(() => {
      const rss = rssBytes(pid);
      if (rss !== undefined) samples.push(rss);
    }, SAMPLE_EVERY_MS);
    const flooded = await flood(wsBase);
    const readyFlooded = summarize(await timeReadiness(baseUrl));
    await sleep(2000);
    clearInterval(sampler);
    const peak = Math.max(rssBefore, ...samples);
    await flooded.close();
    await sleep(1000);
    const rssAfter = rssBytes(pid) ?? Number.NaN;
    rows.push([`server RSS before the flood`, mib(rssBefore), info('')]);
    rows.push([`server RSS peak during the flood - before`, mib(peak - rssBefore), below(peak - rssBefore, 50 * 2 ** 20, '< 50 MiB')]);
    rows.push([`server RSS after the sockets closed`, mib(rssAfter), info('')]);
    rows.push([
      '  the flood: sockets / subscriptions',
      `${flooded.acknowledged} acknowledged, ${flooded.closedAtInit} closed at init (4429), ${flooded.refusedUpgrades} upgrades refused (429)`,
      info(`${flooded.running} subscriptions running, ${flooded.refusedSubscriptions} refused (RATE_LIMITED)`),
    ]);
    rows.push([`/readyz p99, quiet (${READY_PROBES} probes)`, ms(readyQuiet.p99), info('')]);
    rows.push([`/readyz p99, during the flood`, ms(readyFlooded.p99), below(readyFlooded.p99, Math.max(2 * readyQuiet.p99, 50), `< max(2x quiet, 50 ms)`)]);
  } finally {
    await server.stop();
  }

  progress('phase 3: restart with the failed-attempt limits out of reach (the hashing bound alone)');
  server = await startServer('mp-server', { ...serverEnv, MP_AUTH_FAILURES_PER_KEY: '10000', MP_AUTH_FAILURES_PER_ADDRESS: '100000' });
  try {
    const file = await smallestFileUrl(server.url, vendor.apiKey);
    await timeDownloads(file.url);
    const attackers = attack(server.url, vendor.apiKey);
    await sleep(ATTACK_SETTLE_MS);
    const unthrottled = summarize(await timeDownloads(file.url));
    const attempts = await attackers.stop();
    rows.push([
      `download p99, ${ATTACKERS} wrong-secret clients, limits out of reach`,
      ms(unthrottled.p99),
      info(`${(unthrottled.p99 / quiet.p99).toFixed(1)}x quiet; every attempt hashed: ${attempts.perSecond.toFixed(0)}/s`),
    ]);
  } finally {
    await server.stop();
  }

  printTable(
    ['figure', 'value', 'target', ''],
    rows.map(([label, value, target]) => [label, value, target.label, verdict(target)]),
    [1],
  );
  console.log('');
  console.log('Downloads: fetch of a signed URL, whole body read, one after another; the attackers run in this process too, so the');
  console.log('figures include its own event loop. RSS is /proc/<pid>/status VmRSS of the server process.');
  console.log(`Load average at the end: ${loadAverage()}.`);
}

runMain(main);
