import { strict as assert } from 'node:assert';
import { curlCommand, MAX_CURL_BODY_CHARS, shellQuote } from '../../cli/commands/validate/curl';
import { describeOutcome, networkReason, snippet } from '../../cli/commands/validate/describe-outcome';
import { parseBaseUrl, parseSeed, parseTimeoutMs } from '../../cli/commands/validate/flags';
import { isJsonContentType } from '../../cli/commands/validate/json-content-type';
import { percentiles } from '../../cli/commands/validate/percentiles';
import { runPool } from '../../cli/commands/validate/pool';

describe('mp validate: flags, curl lines and figures', () => {
  it('takes a base URL with a scheme and refuses one without', () => {
    assert.equal(parseBaseUrl('http://127.0.0.1:8080/'), 'http://127.0.0.1:8080');
    assert.equal(parseBaseUrl('https://pod-8080.proxy.runpod.net/base/'), 'https://pod-8080.proxy.runpod.net/base');
    assert.equal(parseBaseUrl(['http://a:1', 'http://b:2']), 'http://b:2');
    assert.throws(() => parseBaseUrl('127.0.0.1:8080'), /give the scheme too, e\.g\. http:\/\/127\.0\.0\.1:8080/);
    assert.throws(() => parseBaseUrl('localhost:8080'), /give the scheme too/);
    assert.throws(() => parseBaseUrl('ftp://host'), /use http:\/\/ or https:\/\//);
    assert.throws(() => parseBaseUrl('http://host/?x=1'), /no query/);
  });

  it('reads --timeout in ms, s and m, and plain seconds', () => {
    assert.equal(parseTimeoutMs('10s'), 10_000);
    assert.equal(parseTimeoutMs('500ms'), 500);
    assert.equal(parseTimeoutMs('1.5s'), 1500);
    assert.equal(parseTimeoutMs('2m'), 120_000);
    assert.equal(parseTimeoutMs('3'), 3000);
    for (const bad of ['0s', '10ms', '11m', 'soon', '-1s', '']) assert.throws(() => parseTimeoutMs(bad), /invalid --timeout/, bad);
    assert.equal(parseSeed('4294967295'), 4294967295);
    assert.throws(() => parseSeed('4294967296'), /invalid --seed/);
  });

  it('writes a request as a curl command the shell runs as it is', () => {
    const { command, truncated } = curlCommand('http://127.0.0.1:8080/v1/signal', {
      label: 'x',
      method: 'POST',
      path: '/v1/signal',
      headers: { 'content-type': 'application/json' },
      body: `{"symbol":"O'NEIL"}`,
    });
    assert.equal(command, `curl -sS -i -X POST http://127.0.0.1:8080/v1/signal -H 'content-type: application/json' --data-raw '{"symbol":"O'\\''NEIL"}'`);
    assert.equal(truncated, false);
    assert.equal(curlCommand('http://h/health', { label: 'h', method: 'GET', path: '/health', headers: {} }).command, 'curl -sS -i http://h/health');
    assert.equal(
      curlCommand('http://h/x', { label: 'e', method: 'POST', path: '/x', headers: {}, body: '' }).command,
      "curl -sS -i -X POST http://h/x --data-raw ''",
    );
    assert.equal(shellQuote('a b'), "'a b'");
  });

  it('cuts a long body in the curl command and says so', () => {
    const body = JSON.stringify({ padding: 'x'.repeat(5000) });
    const { command, truncated } = curlCommand('http://h/v1/signal', { label: 'big', method: 'POST', path: '/v1/signal', headers: {}, body });
    assert.equal(truncated, true);
    assert.ok(command.length < MAX_CURL_BODY_CHARS + 200, String(command.length));
    assert.match(command, /x…'$/);
  });

  it('describes what came back in one line', () => {
    assert.equal(
      describeOutcome({ kind: 'response', status: 500, contentType: 'text/html', body: '<h1>\nOops</h1>', bytes: 14, complete: true }, 10_000, 3),
      'HTTP 500 text/html (3 ms): <h1>⏎Oops</h1>',
    );
    assert.equal(describeOutcome({ kind: 'timeout', afterMs: 1000 }, 1000, 1000), 'no answer within 1.0 s (timeout)');
    assert.equal(describeOutcome({ kind: 'network', code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' }, 1000, 1), 'connection refused');
    assert.equal(networkReason('ECONNRESET', 'socket hang up'), 'the endpoint closed the connection without an answer');
    assert.match(snippet('y'.repeat(1000)), /^y{300}… \(1\.0 kB in all\)$/);
  });

  it('knows JSON content types', () => {
    for (const yes of ['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/problem+json'])
      assert.ok(isJsonContentType(yes), yes);
    for (const no of [undefined, 'text/html', 'text/json', 'application/jsonp', 'application/x-ndjson']) assert.ok(!isJsonContentType(no), String(no));
  });

  it('computes nearest-rank percentiles', () => {
    assert.equal(percentiles([]), undefined);
    assert.deepEqual(percentiles([5]), { p50: 5, p95: 5, p99: 5 });
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
    assert.deepEqual(percentiles(hundred), { p50: 50, p95: 95, p99: 99 });
  });

  it('runs at most `concurrency` at once and starts no more once told to stop', async () => {
    let inFlight = 0;
    let most = 0;
    let done = 0;
    const results = await runPool(
      Array.from({ length: 20 }, (_, i) => i),
      3,
      async (item) => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 2));
        inFlight -= 1;
        done += 1;
        return item * 2;
      },
      () => done >= 7,
    );
    assert.equal(most, 3);
    assert.ok(done >= 7 && done <= 9, String(done));
    assert.deepEqual(results.slice(0, 7), [0, 2, 4, 6, 8, 10, 12]);
    assert.equal(results[19], undefined);
  });
});
