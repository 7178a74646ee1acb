/**
 * Token introspection: POST /oauth/introspect latency, cached and uncached, and how soon a token revoked on one server is refused by another.
 *
 * Builds dist/ if stale. Creates a throwaway PostgreSQL database (CREATE DATABASE on
 * --postgres-url, default postgres://postgres@127.0.0.1:5432/postgres or MP_BENCH_POSTGRES_URL;
 * skipped with a message when PostgreSQL cannot be reached), migrates it, creates a vendor and an
 * infrastructure client with the operator commands (`mp-server vendor create`, `mp-server infra
 * create-client`) and starts two compiled servers, A and B, on it: the failed-attempt and API-key
 * limits raised out of reach, LOCAL deployments per vendor set to --deployments, MP_TEMPLATES_DIR
 * pointing at a serving template of this benchmark's own that stays silent (no port, no output, no
 * heartbeats). The baseline is a bare node:http server (_hello-server.js). Every request is a POST
 * of `token=...` with HTTP Basic client credentials over keep-alive (node:http, this process), one
 * at a time, timed from request() to the end of the answer.
 *
 * Setup: --deployments LOCAL deployments (default 10) created on A, each waited for until STARTING.
 * Uncached: the first introspection of each new token on A and on B, and of each token a rotation
 * (below) produced, on B then on A, just before the deployment's next revocation (its endpoint
 * restarted with that token long before): the process has not seen the token, so it looks it up
 * and runs argon2id (one hash at a time on 2 cores). Just before each such sample a request with a
 * token that is no deployment token keeps the client's own credentials cached (they expire after
 * 60 s too), so each sample is one argon2id check, not two. Cached: --cached requests (default
 * 5000, after 500 of warm-up) with one token on A, in 5 blocks alternating with as many to the
 * baseline (the same headers and body).
 *
 * Revocation, --revocations times (default 20), for the deployments in turn: the token is cached
 * on B (checked); a loop introspects it on B back to back; rotateDeploymentToken is sent to A; the
 * loop ends at the first `{"active": false}`. Latency: the end of that answer - revoked_at of the
 * token's row (now() of the revoking transaction, i.e. its start, from PostgreSQL's clock on the
 * same machine), split at the moment a LISTEN of this benchmark's own hears the NOTIFY (about
 * when B hears it); also from the moment the mutation was sent, and the mutation's own time (it
 * hashes the new token, commits, waits for its NOTIFY to come back and restarts the endpoint). An
 * `active: true` to a request sent after the mutation returned is counted: there must be none; then
 * 1 s for the endpoint to restart. Clean-up measures the same with stopDeployment of every
 * deployment. The loop keeps B and this process busy: the revoking calls run on what is left of
 * the 2 cores.
 * Options: --deployments N, --revocations N, --cached N, --postgres-url URL.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { deploymentTokenFormat } from '../../server/modules/deployments/deployment-token';
import { DEPLOYMENT_TOKEN_CHANNEL } from '../../server/modules/deployments/token-validator';
import argon2 from 'argon2';
import { hashSecret } from '../../server/tokens/secret-hash';
import {
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
  runMain,
  startHelloServer,
  summarize,
  temporaryDirectory,
  verdict,
  type Service,
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
  sleep,
  startServer,
} from './_servers';

const DESCRIPTION = 'POST /oauth/introspect cached and uncached vs node:http, and revocation on server A to the first refusal on server B';
const WARMUP = 500;
const BLOCKS = 5;
/** After a rotation the endpoint restarts (node processes starting): let it, before timing argon2id checks. */
const SETTLE_MS = 1000;
const POLL_TIMEOUT_MS = 5000;

/** A serving template that stays silent and ends by itself when the server that started it goes away (as in heartbeats.ts). */
function writeTemplate(): string {
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

// ---------------------------------------------------------------------------------------
// HTTP

interface Endpoint {
  label: string;
  url: URL;
  agent: http.Agent;
}

interface Answer {
  status: number;
  text: string;
  active?: boolean;
  ms: number;
  sentAt: number;
  endedAt: number;
}

function endpointOf(label: string, url: string): Endpoint {
  return { label, url: new URL(url), agent: new http.Agent({ keepAlive: true, maxSockets: 4 }) };
}

let authorization = '';

function introspect(endpoint: Endpoint, token: string, pathname = '/oauth/introspect'): Promise<Answer> {
  const body = `token=${encodeURIComponent(token)}`;
  const headers = { authorization, 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const sentAt = nowMs();
    const started = performance.now();
    const request = http.request(
      { agent: endpoint.agent, host: endpoint.url.hostname, port: endpoint.url.port, path: pathname, method: 'POST', headers },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const took = performance.now() - started;
          const text = Buffer.concat(chunks).toString('utf8');
          // Both answers begin so (server/modules/deployments/introspection.ts); anything else is no answer about the token.
          const active = ({ '{"active":true': true, '{"active":false': false } as Record<string, boolean>)[text.split(',')[0].replace(/}$/, '')];
          resolve({ status: response.statusCode ?? 0, text, active, ms: took, sentAt, endedAt: nowMs() });
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** An introspection that must answer a live token (or, with `active` false, a dead one). */
async function expect(endpoint: Endpoint, token: string, active = true): Promise<Answer> {
  const answer = await introspect(endpoint, token);
  if (answer.status !== 200 || answer.active !== active)
    throw new Error(`introspection on ${endpoint.label} answered ${answer.status} ${answer.text.slice(0, 300)}`);
  return answer;
}

/** A request whose token is no deployment token: {"active": false} at once, and the client's credentials stay cached. */
const keepClientCached = (endpoint: Endpoint) => expect(endpoint, 'not-a-token', false);

// ---------------------------------------------------------------------------------------
// Deployments

interface Deployment {
  id: string;
  token: string;
  /** Its token came from a rotation and neither server has seen it yet. */
  fresh: boolean;
}

const CREATE = `mutation ($input: CreateDeploymentInput!) { createDeployment(input: $input) { deployment { id } token } }`;
const STATUS = `query ($id: ID!) { deployment(id: $id) { status } }`;
const ROTATE = `mutation ($id: ID!) { rotateDeploymentToken(id: $id) { token } }`;
const STOP = `mutation ($id: ID!) { stopDeployment(id: $id) { status } }`;

async function waitUntilStarted(call: <T>(query: string, variables: Record<string, unknown>) => Promise<T>, id: string): Promise<void> {
  for (const deadline = Date.now() + 60_000; ; await sleep(100)) {
    const { status } = (await call<{ deployment: { status: string } }>(STATUS, { id })).deployment;
    if (status === 'STARTING' || status === 'RUNNING') return;
    if (status === 'FAILED' || status === 'STOPPED' || Date.now() > deadline) throw new Error(`deployment ${id} is ${status}`);
  }
}

interface Revocation {
  /** From the token row's revoked_at (the revoking transaction's start) to the first refusal, split where our LISTEN heard the NOTIFY. */
  fromRevoked: number;
  revokedToHeard?: number;
  heardToRefused?: number;
  fromSent: number;
  call: number;
  activeAfterAnswer: number;
  polls: number;
}

/** A connection of our own: revoked_at of a token, and when our LISTEN heard each revocation (about when B does). */
async function watchDatabase(url: string) {
  const client = new PgClient({ connectionString: url });
  await client.connect();
  const heard: { deploymentId?: string; at: number }[] = [];
  client.on('notification', (message) => heard.push({ ...(JSON.parse(message.payload ?? '{}') as { deploymentId?: string }), at: nowMs() }));
  await client.query(`LISTEN ${DEPLOYMENT_TOKEN_CHANNEL}`);
  return {
    async revokedAt(token: string): Promise<number> {
      const parsed = deploymentTokenFormat.parse(token);
      const sql = `SELECT (extract(epoch FROM revoked_at) * 1000)::float8 AS at FROM deployment_tokens WHERE lookup = $1`;
      const at = parsed.ok ? (await client.query<{ at: number | null }>(sql, [parsed.lookup])).rows[0]?.at : undefined;
      if (at == null) throw new Error('the revoked token has no revoked_at');
      return at;
    },
    heardAt: (deploymentId: string, after: number) => heard.find((entry) => entry.deploymentId === deploymentId && entry.at >= after)?.at,
    end: () => client.end(),
  };
}
type DatabaseWatch = Awaited<ReturnType<typeof watchDatabase>>;

/** Introspects `token` on `observer` back to back while `revoke` runs, until the first {"active": false}. */
async function revokeAndWatch<T>(
  observer: Endpoint,
  deployment: Deployment,
  revoke: () => Promise<T>,
  watch: DatabaseWatch,
): Promise<{ result: T; revocation: Revocation }> {
  const { token } = deployment;
  await expect(observer, token);
  if ((await expect(observer, token)).ms > 5) await expect(observer, token); // cached again if its 60 s had run out
  const answers: Answer[] = [];
  const started = nowMs();
  const polling = (async () => {
    for (;;) {
      const answer = await introspect(observer, token);
      answers.push(answer);
      if (answer.status !== 200) throw new Error(`the poll on ${observer.label} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
      if (answer.active === false) return answer;
      if (nowMs() - started > POLL_TIMEOUT_MS) throw new Error(`${observer.label} still says active ${POLL_TIMEOUT_MS} ms after the revocation began`);
    }
  })();
  while (answers.length < 3) await sleep(1);
  const sentAt = nowMs();
  const result = await revoke();
  const answeredAt = nowMs();
  const refused = (await polling).endedAt;
  const revokedAt = await watch.revokedAt(token);
  const heardAt = watch.heardAt(deployment.id, sentAt);
  const revocation: Revocation = {
    fromRevoked: refused - revokedAt,
    ...(heardAt !== undefined ? { revokedToHeard: heardAt - revokedAt, heardToRefused: refused - heardAt } : {}),
    fromSent: refused - sentAt,
    call: answeredAt - sentAt,
    activeAfterAnswer: answers.filter((answer) => answer.active === true && answer.sentAt >= answeredAt).length,
    polls: answers.length,
  };
  return { result, revocation };
}

// ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseOptions(
    process.argv.slice(2),
    { deployments: 10, revocations: 20, cached: 5000, postgresUrl: process.env.MP_BENCH_POSTGRES_URL || DEFAULT_POSTGRES_URL },
    { deployments: [1, 100], revocations: [1, 1000], cached: [BLOCKS, 1_000_000] },
  );
  const build = ensureBuilt();
  printHeader('tokens', DESCRIPTION, [
    ['build', build],
    ['load', loadAverage()],
  ]);
  const unreachable = await postgresReachable(options.postgresUrl);
  if (unreachable) {
    console.log(`skipped: this benchmark needs PostgreSQL (two server processes) and cannot reach ${options.postgresUrl}: ${unreachable}`);
    console.log('(set MP_BENCH_POSTGRES_URL or pass --postgres-url to point it at one)');
    return;
  }
  const database = await createPostgresDatabase(options.postgresUrl);
  const endpoints: Endpoint[] = [];
  const services: Service[] = [];
  let watch: DatabaseWatch | undefined;
  try {
    const env = childEnv({
      DATABASE_URL: database.url,
      MP_DATA_DIR: temporaryDirectory('tokens-data'),
      MP_SIGNING_SECRET: randomBytes(32).toString('hex'),
      MP_TEMPLATES_DIR: writeTemplate(),
      MP_RATE_LIMIT_PER_KEY_PER_MINUTE: '1000000',
      MP_AUTH_FAILURES_PER_KEY: '10000',
      MP_AUTH_FAILURES_PER_ADDRESS: '100000',
      MP_LOCAL_DEPLOYMENTS_PER_VENDOR: String(options.deployments),
      PORT: '0',
      HOST: '127.0.0.1',
      MP_LOG_LEVEL: 'warn',
    });
    progress(`database ${database.name}: migrate, vendor create, infra create-client`);
    await serverCommand(['migrate'], env);
    const vendor = await createVendor(env);
    const created = await serverCommand(['infra', 'create-client', '--name', 'bench', '--json'], env);
    const client = JSON.parse(created.trim().split('\n').pop() ?? '') as { clientId: string; clientSecret: string };
    authorization = `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`;
    progress('starting servers A and B and the hello-world server');
    services.push(...(await Promise.all([startServer('server A', env), startServer('server B', env), startHelloServer()])));
    endpoints.push(...['A', 'B', 'hello'].map((label, i) => endpointOf(label, services[i].url.replace(/\/graphql$/, ''))));
    const [a, b, hello] = endpoints;
    const graphqlUrl = services[0].url;
    const call = <T>(query: string, variables: Record<string, unknown>) => graphql<T>(graphqlUrl, query, variables, vendor.apiKey);
    watch = await watchDatabase(database.url);

    progress(`creating ${options.deployments} deployments on A`);
    const deployments: Deployment[] = [];
    for (let i = 0; i < options.deployments; i += 1) {
      const input = { name: `tokens-${i}`, heartbeatIntervalSeconds: 300 };
      const { createDeployment } = await call<{ createDeployment: { deployment: { id: string }; token: string } }>(CREATE, { input });
      deployments.push({ id: createDeployment.deployment.id, token: createDeployment.token, fresh: false });
    }
    for (const deployment of deployments) await waitUntilStarted(call, deployment.id);

    const uncachedNew: number[] = [];
    const uncachedRotated: number[] = [];
    const firstUse = async (server: Endpoint, deployment: Deployment, into: number[]) => {
      await keepClientCached(server);
      const answer = await expect(server, deployment.token);
      if (!answer.text.includes(deployment.id)) throw new Error(`introspection described another deployment: ${answer.text}`);
      into.push(answer.ms);
    };
    progress('uncached: the first introspection of each new token on A and on B');
    for (const server of [a, b]) await keepClientCached(server);
    for (const deployment of deployments) for (const server of [a, b]) await firstUse(server, deployment, uncachedNew);

    progress(`cached: ${count(options.cached)} introspections on A and as many requests to the baseline, in ${BLOCKS} blocks`);
    const cached: number[] = [];
    const baseline: number[] = [];
    const token = deployments[0].token;
    for (let i = 0; i < WARMUP; i += 1) await Promise.all([expect(a, token), introspect(hello, token, '/')]);
    for (let block = 0; block < BLOCKS; block += 1) {
      await keepClientCached(a);
      for (let i = 0; i < options.cached / BLOCKS; i += 1) cached.push((await expect(a, token)).ms);
      for (let i = 0; i < options.cached / BLOCKS; i += 1) baseline.push((await introspect(hello, token, '/')).ms);
    }

    // A rotated token's first uses wait for the deployment's next turn: by then its endpoint has long restarted.
    const firstUsesIfFresh = async (deployment: Deployment) => {
      if (deployment.fresh) for (const server of [b, a]) await firstUse(server, deployment, uncachedRotated);
      deployment.fresh = false;
    };
    progress(`revocation: ${options.revocations} rotations on A, watched on B`);
    const rotations: Revocation[] = [];
    for (let r = 0; r < options.revocations; r += 1) {
      const deployment = deployments[r % deployments.length];
      await waitUntilStarted(call, deployment.id);
      await firstUsesIfFresh(deployment);
      const rotate = () => call<{ rotateDeploymentToken: { token: string } }>(ROTATE, { id: deployment.id });
      const { result, revocation } = await revokeAndWatch(b, deployment, rotate, watch);
      rotations.push(revocation);
      Object.assign(deployment, { token: result.rotateDeploymentToken.token, fresh: true });
      await sleep(SETTLE_MS);
    }
    progress(`revocation: stopDeployment of the ${deployments.length} deployments on A, watched on B`);
    const stops: Revocation[] = [];
    for (const deployment of deployments) {
      await firstUsesIfFresh(deployment);
      stops.push((await revokeAndWatch(b, deployment, () => call(STOP, { id: deployment.id }), watch)).revocation);
    }

    // argon2id alone in this process, for scale.
    const hash = await hashSecret(token);
    const argon2Only: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      const started = performance.now();
      if (!(await argon2.verify(hash, token))) throw new Error('argon2 rejected the secret it hashed');
      argon2Only.push(performance.now() - started);
    }

    const uncached = [...uncachedNew, ...uncachedRotated];
    const revocationRows = (name: string, list: Revocation[]): [string, number[], Target][] => {
      const pick = (field: keyof Revocation) => list.map((entry) => entry[field]).filter((value): value is number => value !== undefined);
      return [
        [`${name} on A -> first {"active": false} on B`, pick('fromRevoked'), below(summarize(pick('fromRevoked')).p99, 100, 'p99 < 100 ms')],
        ['  revoked_at -> NOTIFY heard (our own LISTEN)', pick('revokedToHeard'), info('commit + delivery')],
        ['  NOTIFY heard -> first refusal on B', pick('heardToRefused'), info('')],
        ['  from the moment the call was sent', pick('fromSent'), info('')],
        [`  the ${name} call itself`, pick('call'), info('')],
      ];
    };
    const rows: [string, number[], Target][] = [
      ['introspection, cached (one token, server A)', cached, below(summarize(cached).p99, 1, 'p99 < 1 ms')],
      ['bare node:http answer, same client and body', baseline, info('baseline, same run')],
      ['introspection, uncached (a token new to the process)', uncached, below(summarize(uncached).p99, 50, 'p99 < 50 ms (seed)')],
      ['  new deployments, first use on A and on B', uncachedNew, info('')],
      ['  rotated tokens, first use on B and on A', uncachedRotated, info('')],
      ['  argon2id verify alone (this process)', argon2Only, info('m=19 MiB, t=2, p=1')],
      ...revocationRows('rotateDeploymentToken', rotations),
      ...revocationRows('stopDeployment', stops),
    ];
    printTable(
      ['figure', 'n', 'p50', 'p90', 'p99', 'max', 'target', ''],
      rows.map(([label, samples, target]) => {
        const s = summarize(samples);
        return [label, count(s.n), ms(s.p50), ms(s.p90), ms(s.p99), ms(s.max), target.label, verdict(target)];
      }),
      [1, 2, 3, 4, 5],
    );
    const all = [...rotations, ...stops];
    const late = all.reduce((sum, entry) => sum + entry.activeAfterAnswer, 0);
    const polls = summarize(all.map((entry) => entry.polls));
    console.log(
      `\n"active": true to a request sent after the revoking call returned: ${late} in ${all.length} revocations (target 0: ${late ? 'MISSED' : 'ok'}).`,
    );
    console.log(`Introspections on B while a revocation went round: p50 ${count(polls.p50)}, max ${count(polls.max)} (back to back, over keep-alive).`);
    console.log(
      `Cached: ${BLOCKS} blocks of ${count(options.cached / BLOCKS)}, alternating with the baseline, after ${WARMUP} warm-up pairs; one request at a time.`,
    );
    console.log(`Uncached: token, deployment and vendor rows, the key id's attempt counter (spent, then forgiven), one argon2id verify.`);
    console.log(`Revocation figures start at revoked_at, now() of the revoking transaction (its start): they include that transaction.`);
    console.log(`Load average at the end: ${loadAverage()}.`);
  } finally {
    for (const endpoint of endpoints) endpoint.agent.destroy();
    await Promise.all(services.map((service) => service.stop()));
    await watch?.end().catch(() => undefined);
    await database.drop();
  }
}

runMain(main);
