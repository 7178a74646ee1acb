import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { SignalInferenceBatchRequestSchema, SignalInferenceRequestSchema } from '../../generated/contracts';
import { closeServer, listenLocally } from '../helpers/cli-fakes';
import { runMp, type CliResult } from '../helpers/cli-process';

interface EndpointOptions {
  /** Answer every request with an HTML page (200). */
  html?: boolean;
  /** Answer requests the contract refuses with 500 instead of 400. */
  crashOnInvalid?: boolean;
  /** Never answer a request for which this says true. */
  hangWhen?: (path: string, body: string) => boolean;
  /** Close the connection without an answer to a request for which this says true. */
  dropWhen?: (path: string, body: string) => boolean;
  /** Give every signal this score (1.5 is outside the contract). */
  score?: number;
  /** Say STARTING (503) for this long after the first GET /health (whenever the validator gets there), then READY. */
  startingMs?: number;
}

const MAX_BODY_BYTES = 1024 * 1024;
// What the SDL says in prose and the generated validators cannot check (see schema/contracts.graphql).
const TICKER = /^[A-Za-z0-9.-]+$/;

function json(res: http.ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(value));
}

/** A deterministic score from the request, in (0, 1), so that the order of a batch's answers shows. */
function scoreOf(request: { symbol: string; horizonDays: number }): number {
  let hash = request.horizonDays;
  for (const char of request.symbol) hash = (hash * 31 + char.charCodeAt(0)) % 10_007;
  return (hash + 1) / 10_009;
}

/** A signal endpoint after the contract of schema/contracts.graphql, with ways to break it. */
async function signalEndpoint(options: EndpointOptions = {}): Promise<{ url: string; close: () => Promise<void> }> {
  let firstHealthAt: number | undefined;
  const server = http.createServer((req, res) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const url = req.url ?? '/';
      if (options.hangWhen?.(url, body)) return;
      if (options.dropWhen?.(url, body)) return req.socket.destroy();
      if (options.html) {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<!doctype html><html><body><h1>Welcome to nginx!</h1></body></html>');
        return;
      }
      const refuse = (status: number, error: string) => json(res, options.crashOnInvalid ? 500 : status, { error });
      if (req.method === 'GET' && url === '/health') {
        firstHealthAt ??= Date.now();
        if (options.startingMs !== undefined && Date.now() - firstHealthAt < options.startingMs) json(res, 503, { status: 'STARTING' });
        else json(res, 200, { status: 'READY', modelVersion: 'test-1' });
        return;
      }
      if (req.method !== 'POST' || (url !== '/v1/signal' && url !== '/v1/signals')) return json(res, 404, { error: `no route ${req.method} ${url}` });
      if (size > MAX_BODY_BYTES) return refuse(413, 'body too large');
      if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) return refuse(415, 'send application/json');
      let value: unknown;
      try {
        value = JSON.parse(body);
      } catch {
        return refuse(400, 'malformed JSON');
      }
      const requests = url === '/v1/signal' ? [SignalInferenceRequestSchema.safeParse(value)] : [];
      if (url === '/v1/signals') {
        const batch = SignalInferenceBatchRequestSchema.safeParse(value);
        if (!batch.success) return refuse(400, batch.error.message);
        requests.push(...batch.data.requests.map((request) => SignalInferenceRequestSchema.safeParse(request)));
      }
      const answers = [];
      for (const parsed of requests) {
        if (!parsed.success) return refuse(400, parsed.error.message);
        if (!Number.isInteger(parsed.data.horizonDays) || !TICKER.test(parsed.data.symbol)) return refuse(400, 'invalid symbol or horizonDays');
        answers.push({ score: options.score ?? scoreOf(parsed.data), confidence: 0.5, modelVersion: 'test-1', latencyMs: 0.1 });
      }
      json(res, 200, url === '/v1/signal' ? answers[0] : { responses: answers });
    });
  });
  const url = await listenLocally(server);
  return { url, close: () => closeServer(server) };
}

/** A port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<string> {
  const server = http.createServer();
  const url = await listenLocally(server);
  await closeServer(server);
  return url;
}

const QUICK = ['--requests', '40', '--concurrency', '4', '--timeout', '2s'];

/** `mp validate` with the QUICK flags, except those `args` give (a flag given twice is a usage error). */
function validate(url: string, ...args: string[]): Promise<CliResult> {
  const quick = QUICK.flatMap((word, i) => (i % 2 === 0 && !args.includes(word) ? [word, QUICK[i + 1]] : []));
  return runMp(['validate', '--url', url, '--no-color', ...quick, ...args], { timeoutMs: 60_000 });
}

interface JsonReport {
  url: string;
  seed: number;
  ok: boolean;
  unreachable: string | null;
  latency: { p50: number | null; p95: number | null; p99: number | null };
  checks: Array<{
    id: string;
    name: string;
    verdict: string;
    detail: string;
    failureCount: number;
    failures: Array<{
      label: string;
      reason: string;
      curl: string;
      request: { method: string; url: string; body: string | null };
      response: { status: number } | null;
      error: string | null;
    }>;
  }>;
}

function check(report: JsonReport, id: string) {
  const found = report.checks.find((c) => c.id === id);
  assert.ok(found, `no check ${id} in ${JSON.stringify(report.checks.map((c) => c.id))}`);
  return found;
}

function assertNoStack(result: CliResult): void {
  assert.doesNotMatch(result.stderr, /\n\s+at /, `unexpected stack trace:\n${result.stderr}`);
}

/** The check's line of the human report: `✗ name  detail`. */
function reportLine(stdout: string, mark: '✓' | '✗' | '-', name: string): string {
  const line = stdout.split('\n').find((l) => l.startsWith(`${mark} ${name}`));
  assert.ok(line, `no "${mark} ${name}" line in:\n${stdout}`);
  return line;
}

describe('mp validate against real HTTP endpoints', function () {
  this.timeout(90_000);
  const servers: Array<{ close: () => Promise<void> }> = [];
  const start = async (options: EndpointOptions = {}) => {
    const endpoint = await signalEndpoint(options);
    servers.push(endpoint);
    return endpoint.url;
  };
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('passes every check against a conforming endpoint and exits 0', async () => {
    const url = await start();
    const result = await validate(url, '--seed', '42');
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, new RegExp(`Validating ${url} against the signal contract \\(seed 42\\)`));
    for (const name of ['health', 'valid requests', 'batch requests', 'invalid requests', 'content type', 'latency under load'])
      reportLine(result.stdout, '✓', name);
    assert.match(reportLine(result.stdout, '✓', 'batch requests'), /1, 7, 64, 500 requests.*in the same order/);
    assert.match(result.stdout, /Latency under load: p50 [\d.]+ ms, p95 [\d.]+ ms, p99 [\d.]+ ms/);
    assert.match(result.stdout, /All 6 checks passed/);
    assert.doesNotMatch(result.stdout, /curl/);
  });

  it('prints one JSON object with --json, and the same seed sends the same requests', async () => {
    const url = await start();
    const first = await validate(url, '--seed', '7', '--json');
    assert.equal(first.code, 0, first.stderr);
    const report = JSON.parse(first.stdout) as JsonReport;
    assert.equal(report.url, url);
    assert.equal(report.seed, 7);
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.checks.map((c) => [c.id, c.verdict]),
      ['health', 'valid', 'batch', 'invalid', 'content-type', 'load'].map((id) => [id, 'pass']),
    );
    for (const value of [report.latency.p50, report.latency.p95, report.latency.p99]) assert.equal(typeof value, 'number');
    assert.match(first.stderr, /seed 7/);
    const again = JSON.parse((await validate(url, '--seed', '7', '--json')).stdout) as JsonReport;
    assert.deepEqual(
      again.checks.filter((c) => c.id !== 'load' && c.id !== 'health').map((c) => c.detail),
      report.checks.filter((c) => c.id !== 'load' && c.id !== 'health').map((c) => c.detail),
    );
  });

  it('waits while /health says STARTING and passes once it says READY', async () => {
    const url = await start({ startingMs: 1200 });
    const result = await validate(url, '--timeout', '5s', '--requests', '10');
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(reportLine(result.stdout, '✓', 'health'), /READY with HTTP 200 .*after .* of STARTING/);
  });

  it('exits 6 and says "connection refused" when nothing listens', async () => {
    const url = await closedPort();
    const result = await validate(url);
    assert.equal(result.code, 6, result.stdout + result.stderr);
    assert.match(reportLine(result.stdout, '✗', 'health'), /connection refused/);
    assert.match(result.stdout, new RegExp(`\\$ curl -sS -i ${url.replace(/[.]/g, '\\.')}/health`));
    reportLine(result.stdout, '-', 'valid requests');
    assert.match(result.stderr, new RegExp(`mp: cannot reach ${url.replace(/[.]/g, '\\.')}: connection refused`));
    assertNoStack(result);
  });

  it('exits 6 and says it timed out when /health never answers', async () => {
    const url = await start({ hangWhen: (p) => p === '/health' });
    const result = await validate(url, '--timeout', '500ms', '--json');
    assert.equal(result.code, 6, result.stderr);
    const report = JSON.parse(result.stdout) as JsonReport;
    assert.equal(report.unreachable, 'no answer to GET /health within 500 ms (timeout)');
    assert.deepEqual(
      report.checks.map((c) => c.verdict),
      ['fail', 'skip', 'skip', 'skip', 'skip', 'skip'],
    );
    assert.match(result.stderr, /no answer to GET \/health within 500 ms/);
  });

  it('fails health, the valid requests and the content type of an endpoint answering HTML (exit 5)', async () => {
    const url = await start({ html: true });
    const result = await validate(url);
    assert.equal(result.code, 5, result.stdout + result.stderr);
    assert.match(reportLine(result.stdout, '✗', 'health'), /not JSON \(text\/html/);
    assert.match(reportLine(result.stdout, '✗', 'content type'), /answers were not JSON \(text\/html ×\d+\)/);
    reportLine(result.stdout, '✗', 'valid requests');
    assert.match(
      result.stdout,
      /\$ curl -sS -i -X POST .*\/v1\/signal -H 'accept: application\/json' -H 'content-type: application\/json' --data-raw '\{"symbol":/,
    );
    assert.match(result.stdout, /→ HTTP 200 text\/html \(.*\): <!doctype html>/);
    assert.match(result.stderr, /mp: \d of 6 checks failed: health, valid requests/);
    assertNoStack(result);
  });

  it('fails the invalid requests of an endpoint that answers them with 500, naming each', async () => {
    const url = await start({ crashOnInvalid: true });
    const result = await validate(url, '--json');
    assert.equal(result.code, 5, result.stderr);
    const report = JSON.parse(result.stdout) as JsonReport;
    assert.equal(check(report, 'valid').verdict, 'pass');
    const invalid = check(report, 'invalid');
    assert.equal(invalid.verdict, 'fail');
    assert.ok(invalid.failureCount >= 10, invalid.detail);
    const horizon = invalid.failures.find((f) => f.label === 'horizonDays 0');
    assert.ok(horizon, JSON.stringify(invalid.failures.map((f) => f.label)));
    assert.match(horizon.reason, /HTTP 500 \(expected 4xx/);
    assert.match(horizon.curl, /^curl -sS -i -X POST .*\/v1\/signal .*--data-raw '\{"symbol":"AAPL","asOf":"2024-01-02T21:00:00.000Z","horizonDays":0\}'$/);
    assert.equal(horizon.response?.status, 500);

    const human = await validate(url);
    assert.equal(human.code, 5);
    assert.match(reportLine(human.stdout, '✗', 'invalid requests'), /of \d+ invalid requests were not refused with 4xx/);
    assert.match(human.stdout, /\$ curl .*\/v1\/signal/);
    assert.match(human.stdout, /→ HTTP 500 application\/json/);
  });

  it('reports a request the endpoint never answers as a timeout, with that request, and does not hang', async () => {
    const url = await start({ hangWhen: (p, body) => p === '/v1/signal' && body.includes('"horizonDays":365') });
    const started = Date.now();
    const result = await validate(url, '--timeout', '1s', '--seed', '3');
    assert.equal(result.code, 5, result.stdout + result.stderr);
    assert.ok(Date.now() - started < 40_000, 'took too long');
    const line = reportLine(result.stdout, '✗', 'valid requests');
    assert.match(line, /did not get a conforming 2xx answer/);
    assert.match(result.stdout, /: no answer within 1\.0 s \(timeout\)/);
    assert.match(result.stdout, /\$ curl .*"horizonDays":365/);
    assert.match(result.stdout, /→ no answer within 1\.0 s \(timeout\)/);
    reportLine(result.stdout, '✓', 'health');
  });

  it('reports a connection closed without an answer as a dropped connection, with its request', async () => {
    const url = await start({ dropWhen: (p, body) => p === '/v1/signal' && body.startsWith('[') });
    const result = await validate(url, '--json');
    assert.equal(result.code, 5, result.stderr);
    const report = JSON.parse(result.stdout) as JsonReport;
    const invalid = check(report, 'invalid');
    assert.equal(invalid.failureCount, 1, invalid.detail);
    const [failure] = invalid.failures;
    assert.equal(failure.label, 'a JSON list instead of an object');
    assert.equal(failure.reason, 'the endpoint closed the connection without an answer (expected 4xx)');
    assert.equal(failure.response, null);
    assert.match(failure.curl, /--data-raw '\[\]'$/);
    assert.deepEqual(
      report.checks.filter((c) => c.verdict !== 'pass').map((c) => c.id),
      ['invalid'],
    );
  });

  it('fails an endpoint answering JSON outside the contract (score 1.5), quoting the violation', async () => {
    const url = await start({ score: 1.5 });
    const result = await validate(url);
    assert.equal(result.code, 5, result.stdout + result.stderr);
    assert.match(reportLine(result.stdout, '✗', 'valid requests'), /did not get a conforming 2xx answer/);
    assert.match(result.stdout, /does not conform to SignalInferenceResponse: score: Too big: expected number to be <=1/);
    assert.match(result.stdout, /\$ curl -sS -i -X POST .*\/v1\/signal/);
    assert.match(result.stdout, /→ HTTP 200 application\/json; charset=utf-8 \(.*\): \{"score":1\.5/);
    assert.match(reportLine(result.stdout, '✗', 'batch requests'), /not answered as the contract says/);
    reportLine(result.stdout, '✓', 'invalid requests');
    assert.match(result.stderr, /mp: 2 of 6 checks failed: valid requests, batch requests/);
  });

  it('refuses a URL without a scheme and bad flag values with exit 2', async () => {
    for (const args of [
      ['--url', '127.0.0.1:8080'],
      ['--timeout', '0s'],
      ['--requests', '0'],
      ['--concurrency', 'many'],
      ['--contract', 'optimizer'],
    ]) {
      const result = await runMp(['validate', ...args], { timeoutMs: 30_000 });
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /mp validate --help/);
    }
    const noScheme = await runMp(['validate', '--url', 'localhost:8080'], { timeoutMs: 30_000 });
    assert.match(noScheme.stderr, /invalid --url "localhost:8080": give the scheme too, e.g. http:\/\/localhost:8080/);
  });
});

const TEMPLATE = path.resolve(__dirname, '..', '..', 'cli', 'templates', 'runpod-signal-http');
const TSX = require.resolve('tsx/cjs');

/** The serving template's own process (what `mp dev` runs) on a free port of 127.0.0.1, with its built-in model. */
async function startTemplate(): Promise<{ url: string; stop: () => Promise<void> }> {
  const pkg = JSON.parse(fs.readFileSync(path.join(TEMPLATE, 'package.json'), 'utf8')) as { mp?: { entry?: string } };
  const entry = path.join(TEMPLATE, pkg.mp?.entry ?? 'src/main.ts');
  const child = spawn(process.execPath, ['--require', TSX, entry], {
    cwd: TEMPLATE,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the template did not say where it listens:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`the template exited (${code}) before listening:\n${output}`));
    });
  });
  return {
    url,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

describe('mp validate against the runpod-signal-http template', function () {
  this.timeout(120_000);

  it('passes every check against the template served as its own process', async () => {
    const template = await startTemplate();
    try {
      const result = await runMp(['validate', '--url', template.url, '--no-color', '--json', '--seed', '2024'], { timeoutMs: 90_000 });
      const report = JSON.parse(result.stdout) as JsonReport;
      const failures = report.checks
        .filter((c) => c.verdict !== 'pass')
        .map((c) => `${c.name}: ${c.detail} ${c.failures.map((f) => `${f.label}: ${f.reason}`).join('; ')}`);
      assert.deepEqual(failures, []);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(report.ok, true);
    } finally {
      await template.stop();
    }
  });
});
