// The serving template (cli/templates/runpod-signal-http) as a vendor gets it: scaffolded by a real
// `mp init`, run as a real child process, spoken to over real HTTP. Its dependencies (zod, tsx)
// come from the repository's node_modules through NODE_PATH: nothing is installed.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  EndpointHealthSchema,
  HeartbeatInputSchema,
  SignalInferenceBatchResponseSchema,
  SignalInferenceResponseSchema,
  SignalWriteBatchSchema,
  type HeartbeatInput,
  type SignalInferenceRequest,
  type SignalInferenceResponse,
} from '../../generated/contracts';
import { runMp } from '../helpers/cli-process';
import { eventually } from '../helpers/processes';

const ROOT = path.resolve(__dirname, '..', '..');
const TSX = require.resolve('tsx/cjs');
const NODE_PATH = path.join(ROOT, 'node_modules');
const TOKEN = 'sit_testdeployment_S3cretS3cretS3cretS3cretS3cret';

/** A model.json in runpod-signal-train's format, as a marketplace URL serves it. */
const MODEL_FILE = JSON.stringify({
  format: 'mp-linear-v1',
  task: 'SIGNAL',
  featureNames: ['return_1d', 'return_20d', 'rsi_14'],
  weights: [-0.02, 0.05, 0.01],
  bias: 0.48,
  round: 1,
  runId: 'run_test',
  trainedAt: '2026-11-20T00:00:00.000Z',
});

const REQUEST: SignalInferenceRequest = { symbol: 'AAPL', asOf: '2026-11-20T21:00:00Z', horizonDays: 5 };

interface Endpoint {
  url: string;
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** Starts the scaffolded endpoint on a free port with `env`; resolves once it listens. */
async function startEndpoint(dir: string, env: Record<string, string> = {}): Promise<Endpoint> {
  const child = spawn(process.execPath, ['--require', TSX, 'src/server.ts'], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_PATH, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const listening = await eventually(() => /listening on http:\/\/127\.0\.0\.1:\d+/.test(output) || child.exitCode !== null, 15_000);
  const port = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1];
  if (!listening || !port) {
    child.kill('SIGKILL');
    throw new Error(`the endpoint did not start:\n${output}`);
  }
  return { url: `http://127.0.0.1:${port}`, child, output: () => output, exited };
}

async function stopEndpoint(endpoint: Endpoint | undefined): Promise<void> {
  if (!endpoint || endpoint.child.exitCode !== null) return;
  endpoint.child.kill('SIGTERM');
  await endpoint.exited;
}

async function waitForStatus(url: string, status: string): Promise<void> {
  const reached = await eventually(async () => {
    const response = await fetch(`${url}/health`).catch(() => null);
    return response !== null && ((await response.json()) as { status?: string }).status === status;
  }, 15_000);
  assert.ok(reached, `GET /health never answered ${status}`);
}

function post(url: string, body: string, contentType = 'application/json'): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body });
}

function postJson(url: string, value: unknown): Promise<Response> {
  return post(url, JSON.stringify(value));
}

interface ErrorAnswer {
  error: { code: string; message: string; fields?: { path: string; message: string }[] };
}

/** A 4xx JSON error answer, with the paths of the fields it names. */
async function refusal(response: Response, status: number): Promise<{ body: ErrorAnswer; paths: string[] }> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  const body = JSON.parse(text) as ErrorAnswer;
  assert.equal(typeof body.error.message, 'string');
  return { body, paths: (body.error.fields ?? []).map((field) => field.path) };
}

/** The normal CDF by Simpson's rule on the density: independent of the template's approximation. */
function normalCdf(z: number): number {
  const steps = 2000;
  const a = Math.min(0, z);
  const b = Math.max(0, z);
  const h = (b - a) / steps;
  const density = (x: number) => Math.exp(-(x * x) / 2) / Math.sqrt(2 * Math.PI);
  let sum = density(a) + density(b);
  for (let i = 1; i < steps; i++) sum += density(a + i * h) * (i % 2 === 1 ? 4 : 2);
  const area = (sum * h) / 3;
  return z >= 0 ? 0.5 + area : 0.5 - area;
}

interface ModelJson {
  format: string;
  featureNames: string[];
  weights: number[];
  bias: number;
}

/** A tiny round in the real files' shape (features 0..1, bucketed target following feature `a` up and `b` down). */
function writeTinyRound(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const lines = (labeled: boolean, rows: number, offset: number) => {
    const out = [`symbol,date,a,b,c${labeled ? ',target' : ''}`];
    for (let i = 0; i < rows; i++) {
      const a = ((i * 37 + offset) % 100) / 100;
      const b = ((i * 61 + offset) % 100) / 100;
      const c = ((i * 17 + offset) % 100) / 100;
      const target = Math.max(0, Math.min(4, Math.floor((0.7 * a - 0.3 * b + 0.3) * 5))) / 4;
      out.push(`S${i % 7},2021-01-${String(1 + (i % 28)).padStart(2, '0')},${a},${b},${c}${labeled ? `,${target}` : ''}`);
    }
    return `${out.join('\n')}\n`;
  };
  fs.writeFileSync(path.join(dir, 'train.csv'), lines(true, 300, 0));
  fs.writeFileSync(path.join(dir, 'validation.csv'), lines(true, 100, 13));
  fs.writeFileSync(path.join(dir, 'live.csv'), lines(false, 10, 29));
}

/** A local HTTP server standing in for the marketplace: records every request, answers with `reply`. */
class FakeMarketplace {
  readonly requests: { path: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  reply: (path: string, body: string, index: number) => { status: number; body: unknown; delayMs?: number } = () => ({ status: 404, body: {} });
  private readonly server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const url = req.url ?? '/';
      this.requests.push({ path: url, headers: req.headers, body });
      const index = this.requests.filter((request) => request.path === url).length - 1;
      const answer = this.reply(url, body, index);
      setTimeout(() => {
        const bytes = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(bytes);
      }, answer.delayMs ?? 0);
    });
  });
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  to(pathname: string) {
    return this.requests.filter((request) => request.path === pathname);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('the runpod-signal-http serving template', function () {
  this.timeout(60_000);
  let work: string;
  let project: string;
  let endpoint: Endpoint | undefined;
  let market: FakeMarketplace | undefined;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-serving-it-'));
    const init = await runMp(['init', '--template', 'runpod-signal-http', 'endpoint'], { cwd: work, configHome: path.join(work, '.config') });
    assert.equal(init.code, 0, init.stderr);
    project = path.join(work, 'endpoint');
  });
  afterEach(async () => {
    await stopEndpoint(endpoint);
    endpoint = undefined;
    await market?.close();
    market = undefined;
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  it('scaffolds a project whose contract validators are the generated ones and whose package pins the repository zod', () => {
    assert.equal(
      fs.readFileSync(path.join(project, 'src', 'contract.generated.ts'), 'utf8').replace(/^.*\n/, ''),
      fs.readFileSync(path.join(ROOT, 'generated', 'contracts.ts'), 'utf8').replace(/^.*\n/, ''),
    );
    const pkg = JSON.parse(fs.readFileSync(path.join(project, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      scripts: Record<string, string>;
    };
    const root = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    assert.equal(pkg.dependencies.zod, root.dependencies.zod);
    assert.equal(pkg.dependencies.tsx, root.dependencies.tsx);
    assert.ok(pkg.scripts.start && pkg.scripts.dev && pkg.scripts.test);
    assert.ok(fs.existsSync(path.join(project, '.gitignore')) && fs.existsSync(path.join(project, 'Dockerfile')));
  });

  it('answers GET /health READY with the built-in model, and a signal request with a conforming response', async () => {
    endpoint = await startEndpoint(project);
    await waitForStatus(endpoint.url, 'READY');
    const health = await fetch(`${endpoint.url}/health`);
    assert.equal(health.status, 200);
    assert.match(health.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(EndpointHealthSchema.parse(await health.json()), { status: 'READY', modelVersion: 'built-in' });

    const response = await postJson(`${endpoint.url}/v1/signal`, { ...REQUEST, features: [{ name: 'return_60d', value: 0.9 }] });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    const answer = SignalInferenceResponseSchema.parse(await response.json());
    assert.equal(answer.modelVersion, 'built-in');
    assert.ok(answer.score > 0.5, `a high 60-day return scores above 0.5 with the built-in momentum model: ${answer.score}`);
    assert.ok(answer.confidence > 0 && answer.confidence < 1);

    // Every request the contract allows is answered, even one with no features at all: "no view".
    const bare = SignalInferenceResponseSchema.parse(await (await postJson(`${endpoint.url}/v1/signal`, REQUEST)).json());
    assert.ok(Math.abs(bare.score - 0.5) < 1e-6 && bare.confidence < 1e-6, JSON.stringify(bare));
  });

  it('answers a batch of 500 in the order of the requests, each as the single request would be', async () => {
    endpoint = await startEndpoint(project);
    await waitForStatus(endpoint.url, 'READY');
    const requests = Array.from({ length: 500 }, (_, i) => ({ ...REQUEST, symbol: `S${i}`, features: [{ name: 'return_60d', value: i / 499 }] }));
    const response = await postJson(`${endpoint.url}/v1/signals`, { requests });
    assert.equal(response.status, 200);
    const { responses } = SignalInferenceBatchResponseSchema.parse(await response.json());
    assert.equal(responses.length, 500);
    for (let i = 1; i < responses.length; i++) assert.ok(responses[i].score > responses[i - 1].score, `responses out of order at ${i}`);
    for (const i of [0, 137, 499]) {
      const single = (await (await postJson(`${endpoint.url}/v1/signal`, requests[i])).json()) as SignalInferenceResponse;
      assert.equal(responses[i].score, single.score);
      assert.equal(responses[i].confidence, single.confidence);
    }
    const tooMany = await refusal(await postJson(`${endpoint.url}/v1/signals`, { requests: [...requests, REQUEST] }), 400);
    assert.deepEqual(tooMany.paths, ['requests']);
  });

  it('refuses each kind of bad input with a 4xx JSON answer naming the field, never a 5xx or a dropped connection', async () => {
    endpoint = await startEndpoint(project);
    await waitForStatus(endpoint.url, 'READY');
    const signal = `${endpoint.url}/v1/signal`;
    const { symbol: _symbol, ...withoutSymbol } = REQUEST;

    const missing = await refusal(await postJson(signal, withoutSymbol), 400);
    assert.deepEqual(missing.paths, ['symbol']);
    assert.equal(missing.body.error.code, 'BAD_USER_INPUT');
    assert.match(missing.body.error.fields?.[0].message ?? '', /required/);

    assert.deepEqual((await refusal(await postJson(signal, { ...REQUEST, horizonDays: '5' }), 400)).paths, ['horizonDays']);
    assert.deepEqual((await refusal(await postJson(signal, { ...REQUEST, horizonDays: 366 }), 400)).paths, ['horizonDays']);
    assert.deepEqual((await refusal(await postJson(signal, { ...REQUEST, horizonDays: 2.5 }), 400)).paths, ['horizonDays']);
    assert.deepEqual((await refusal(await postJson(signal, { ...REQUEST, symbol: 'AB$ C' }), 400)).paths, ['symbol']);
    assert.deepEqual((await refusal(await postJson(signal, { ...REQUEST, features: [{ name: 'ret_5d' }] }), 400)).paths, ['features.0.value']);
    const several = await refusal(await postJson(signal, { symbol: 42, asOf: 'yesterday', horizonDays: 0 }), 400);
    assert.deepEqual(several.paths.sort(), ['asOf', 'horizonDays', 'symbol']);
    const batch = await refusal(await postJson(`${endpoint.url}/v1/signals`, { requests: [REQUEST, { ...REQUEST, horizonDays: 0 }] }), 400);
    assert.deepEqual(batch.paths, ['requests.1.horizonDays']);

    const malformed = await refusal(await post(signal, '{"symbol": "AAPL", '), 400);
    assert.equal(malformed.body.error.code, 'MALFORMED_JSON');
    assert.deepEqual((await refusal(await post(signal, '[]'), 400)).paths, ['body']);
    assert.equal((await refusal(await post(signal, ''), 400)).body.error.code, 'MALFORMED_JSON');

    const big = `${JSON.stringify(REQUEST).slice(0, -1)},"padding":"${'x'.repeat(2 * 1024 * 1024)}"}`;
    assert.equal((await refusal(await post(signal, big), 413)).body.error.code, 'PAYLOAD_TOO_LARGE');
    const chunked = await new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
      // No Content-Length: the endpoint finds out while reading, answers, and reads the rest away.
      const request = http.request(signal, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode, body: text }));
      });
      request.on('error', reject);
      for (let i = 0; i < 32; i++) request.write('x'.repeat(64 * 1024));
      request.end();
    });
    assert.equal(chunked.status, 413, chunked.body);
    assert.equal((JSON.parse(chunked.body) as ErrorAnswer).error.code, 'PAYLOAD_TOO_LARGE');

    assert.equal((await refusal(await post(signal, JSON.stringify(REQUEST), 'text/plain'), 415)).body.error.code, 'UNSUPPORTED_MEDIA_TYPE');
    assert.equal((await refusal(await fetch(signal, { method: 'POST', body: JSON.stringify(REQUEST) }), 415)).body.error.code, 'UNSUPPORTED_MEDIA_TYPE');
    assert.equal((await refusal(await fetch(signal), 405)).body.error.code, 'METHOD_NOT_ALLOWED');
    assert.equal((await refusal(await fetch(`${endpoint.url}/v2/nothing`), 404)).body.error.code, 'NOT_FOUND');

    // Still serving after all that.
    assert.equal((await postJson(signal, REQUEST)).status, 200);
    assert.doesNotMatch(endpoint.output(), /error: request .* failed/);
  });

  it('serves a model.json that runpod-signal-train wrote: the version is its sha256 prefix and the score follows its weights', async () => {
    const data = path.join(work, 'round');
    const out = path.join(work, 'trained');
    writeTinyRound(data);
    const train = spawn(process.execPath, ['--require', TSX, path.join(ROOT, 'cli', 'templates', 'runpod-signal-train', 'src', 'train.ts')], {
      env: { PATH: process.env.PATH, MP_DATA_DIR: data, MP_OUTPUT_DIR: out, MP_HPARAMS: '{"epochs":30,"lr":0.05}' },
      stdio: 'ignore',
    });
    assert.equal(await new Promise((resolve) => train.on('close', resolve)), 0);
    const file = path.join(out, 'model.json');
    const bytes = fs.readFileSync(file);
    const model = JSON.parse(bytes.toString('utf8')) as ModelJson;
    assert.deepEqual(model.featureNames, ['a', 'b', 'c']);
    const version = createHash('sha256').update(bytes).digest('hex').slice(0, 12);

    endpoint = await startEndpoint(project, { MP_MODEL_PATH: file });
    await waitForStatus(endpoint.url, 'READY');
    assert.equal(((await (await fetch(`${endpoint.url}/health`)).json()) as { modelVersion: string }).modelVersion, version);

    const vector = [0.9, 0.2, 0.4];
    const byVector = SignalInferenceResponseSchema.parse(await (await postJson(`${endpoint.url}/v1/signal`, { ...REQUEST, featureVector: vector })).json());
    const byName = SignalInferenceResponseSchema.parse(
      await (await postJson(`${endpoint.url}/v1/signal`, { ...REQUEST, features: model.featureNames.map((name, i) => ({ name, value: vector[i] })) })).json(),
    );
    assert.equal(byVector.modelVersion, version);
    assert.equal(byVector.score, byName.score);

    // README: score = Phi((raw - center) / spread), confidence = |2 score - 1| with every feature given.
    const raw = model.bias + model.weights.reduce((sum, weight, i) => sum + weight * vector[i], 0);
    const center = model.bias + 0.5 * model.weights.reduce((sum, weight) => sum + weight, 0);
    const spread = Math.sqrt(model.weights.reduce((sum, weight) => sum + weight * weight, 0) / 12);
    const expected = normalCdf((raw - center) / spread);
    assert.ok(Math.abs(byVector.score - expected) < 1e-6, `${byVector.score} vs ${expected}`);
    assert.ok(Math.abs(byVector.confidence - Math.abs(2 * expected - 1)) < 1e-6);
    assert.ok(model.weights[0] > 0 && byVector.score > 0.5, 'the target rises with `a`: a high `a` and a low `b` score above 0.5');
  });

  it('sends heartbeats with its token once the model is loaded, retries after a failure, and writes signals to the signalsUrl of the receipt', async () => {
    market = new FakeMarketplace();
    await market.start();
    const signalsUrl = `${market.url}/api/signals/store`;
    market.reply = (pathname, _body, index) => {
      if (pathname === '/model.json') return { status: 200, body: MODEL_FILE, delayMs: 1500 };
      if (pathname === '/graphql' && index === 0) return { status: 503, body: { errors: [{ message: 'try later' }] } };
      if (pathname === '/graphql') {
        return {
          status: 200,
          body: { data: { sendHeartbeat: { deploymentId: 'dep_1', health: 'HEALTHY', nextDueAt: new Date().toISOString(), signalsUrl } } },
        };
      }
      if (pathname === '/api/signals/store' && index === 0) return { status: 503, body: { error: 'busy' } };
      if (pathname === '/api/signals/store') return { status: 200, body: { accepted: 1 } };
      return { status: 404, body: {} };
    };
    endpoint = await startEndpoint(project, {
      MP_API_URL: market.url,
      MP_DEPLOYMENT_TOKEN: TOKEN,
      MP_HEARTBEAT_SECONDS: '0.2',
      MP_MODEL_URL: `${market.url}/model.json`,
    });
    // While the model downloads (1.5 s) the endpoint is STARTING and sends no heartbeat.
    const health = (await (await fetch(`${endpoint.url}/health`)).json()) as { status: string };
    assert.equal(health.status, 'STARTING');
    assert.equal(market.to('/graphql').length, 0);
    await waitForStatus(endpoint.url, 'READY');

    assert.ok(await eventually(() => market!.to('/graphql').length >= 3), `heartbeats: ${market.to('/graphql').length}\n${endpoint.output()}`);
    for (const beat of market.to('/graphql')) {
      assert.equal(beat.headers.authorization, `Bearer ${TOKEN}`);
      const { query, variables } = JSON.parse(beat.body) as { query: string; variables: { input: unknown } };
      assert.match(query, /sendHeartbeat\(input: \$input\)/);
      const input = HeartbeatInputSchema.parse(variables.input) as HeartbeatInput;
      assert.equal(input.status, 'READY');
      assert.match(input.version ?? '', /^[0-9a-f]{12}$/);
    }
    assert.match(endpoint.output(), /heartbeat refused \(HTTP 503\): try later; trying again/);
    assert.match(endpoint.output(), /heartbeats reach the marketplace again/);

    // The receipt linked the deployment: answered inferences now go to the signal store.
    assert.ok(await eventually(() => /signals now go to/.test(endpoint!.output())), endpoint.output());
    assert.equal((await postJson(`${endpoint.url}/v1/signal`, { ...REQUEST, symbol: 'MSFT' })).status, 200);
    const batch = Array.from({ length: 3 }, (_, i) => ({ ...REQUEST, symbol: `B${i}` }));
    assert.equal((await postJson(`${endpoint.url}/v1/signals`, { requests: batch })).status, 200);
    assert.ok(await eventually(() => market!.to('/api/signals/store').length >= 2, 15_000), endpoint.output());
    const [refused, accepted] = market.to('/api/signals/store');
    assert.equal(accepted.headers.authorization, `Bearer ${TOKEN}`);
    assert.match(accepted.headers['idempotency-key'] as string, /^[0-9a-f-]{36}$/);
    assert.equal(accepted.headers['idempotency-key'], refused.headers['idempotency-key'], 'a retried batch keeps its Idempotency-Key');
    const written = SignalWriteBatchSchema.parse(JSON.parse(accepted.body)).signals;
    assert.deepEqual(
      written.map((signal) => signal.symbol),
      ['MSFT', 'B0', 'B1', 'B2'],
    );
    assert.equal(written[0].asOf, REQUEST.asOf);
    assert.equal(written[0].horizonDays, 5);
    assert.ok(!endpoint.output().includes(TOKEN), 'the token appeared in the log');

    // A signal answered just before SIGTERM is still written: the stop flushes what is waiting.
    assert.equal((await postJson(`${endpoint.url}/v1/signal`, { ...REQUEST, symbol: 'LAST' })).status, 200);
    endpoint.child.kill('SIGTERM');
    assert.equal(await endpoint.exited, 0, endpoint.output());
    assert.ok(
      market.to('/api/signals/store').some((request) => request.body.includes('"LAST"')),
      'the last signal was not flushed',
    );
    assert.match(endpoint.output(), /SIGTERM: shutting down[\s\S]*stopped/);
  });

  it('turns UNHEALTHY and serves nothing when MP_MODEL_URL does not match MP_MODEL_SHA256', async () => {
    market = new FakeMarketplace();
    await market.start();
    const model = Buffer.from(MODEL_FILE);
    market.reply = () => ({ status: 200, body: MODEL_FILE });
    const wrong = createHash('sha256').update('something else').digest('hex');
    endpoint = await startEndpoint(project, { MP_MODEL_URL: `${market.url}/files/signed-secret/model.json`, MP_MODEL_SHA256: wrong });
    await waitForStatus(endpoint.url, 'UNHEALTHY');
    const health = await fetch(`${endpoint.url}/health`);
    assert.equal(health.status, 503);
    assert.deepEqual(EndpointHealthSchema.parse(await health.json()), { status: 'UNHEALTHY', modelVersion: null });
    assert.match(endpoint.output(), new RegExp(`UNHEALTHY: .*sha256 ${createHash('sha256').update(model).digest('hex')}, not ${wrong}`));
    assert.ok(!endpoint.output().includes('signed-secret'), 'the model URL path appeared in the log');
    const refused = await postJson(`${endpoint.url}/v1/signal`, REQUEST);
    assert.equal(refused.status, 503);
    assert.equal(((await refused.json()) as ErrorAnswer).error.code, 'NOT_READY');
    // Bad input is still the caller's fault, not the endpoint's.
    assert.equal((await postJson(`${endpoint.url}/v1/signal`, { ...REQUEST, horizonDays: 0 })).status, 400);

    // The right checksum: READY with the file's version.
    await stopEndpoint(endpoint);
    const right = createHash('sha256').update(model).digest('hex');
    endpoint = await startEndpoint(project, { MP_MODEL_URL: `${market.url}/model.json`, MP_MODEL_SHA256: right.toUpperCase() });
    await waitForStatus(endpoint.url, 'READY');
    assert.equal(((await (await fetch(`${endpoint.url}/health`)).json()) as { modelVersion: string }).modelVersion, right.slice(0, 12));
  });

  it('exits 2 naming the variable when the configuration is unusable', async () => {
    for (const [env, message] of [
      [{ PORT: 'eighty' }, /PORT is "eighty"/],
      [{ MP_MODEL_PATH: '/x/model.json', MP_MODEL_URL: 'https://example.com/model.json' }, /MP_MODEL_PATH or MP_MODEL_URL, not both/],
      [{ MP_MODEL_URL: 'ftp://example.com/model.json' }, /MP_MODEL_URL must be an http or https URL/],
      [{ MP_MODEL_SHA256: 'abc' }, /MP_MODEL_SHA256 must be 64 hexadecimal/],
    ] as const) {
      const child = spawn(process.execPath, ['--require', TSX, 'src/server.ts'], {
        cwd: project,
        env: { PATH: process.env.PATH, NODE_PATH, ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      assert.equal(await new Promise((resolve) => child.on('close', resolve)), 2, stderr);
      assert.match(stderr, message);
    }
  });
});
