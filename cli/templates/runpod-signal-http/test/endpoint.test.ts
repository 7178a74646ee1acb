// `npm test`: the endpoint in this process on a free port, with the built-in model.
import { strict as assert } from 'node:assert';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { builtInModel } from '../src/builtin-model';
import { EndpointHealthSchema, SignalInferenceResponseSchema, type SignalWrite } from '../src/contract.generated';
import type { Log } from '../src/log';
import { createEndpointServer } from '../src/http/endpoint-server';
import { EndpointState } from '../src/state';

const quiet: Log = { info: () => undefined, warn: () => undefined, error: () => undefined };
const state = new EndpointState(8);
const written: SignalWrite[] = [];
const server = createEndpointServer({ state, log: quiet, onSignals: (signals) => written.push(...signals) });
let base = '';

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const post = (path: string, body: unknown) =>
  fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('GET /health is 503 STARTING until the model is loaded, then 200 READY', async () => {
  const starting = await fetch(`${base}/health`);
  assert.equal(starting.status, 503);
  assert.equal(EndpointHealthSchema.parse(await starting.json()).status, 'STARTING');
  state.ready(builtInModel());
  const ready = await fetch(`${base}/health`);
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: 'READY', modelVersion: 'built-in' });
});

test('POST /v1/signal answers a score that follows the features, and hands on the signal', async () => {
  const request = (momentum: number) => ({
    symbol: 'AAPL',
    asOf: '2026-11-20T00:00:00Z',
    horizonDays: 5,
    features: [{ name: 'return_60d', value: momentum }],
  });
  const up = SignalInferenceResponseSchema.parse(await (await post('/v1/signal', request(0.95))).json());
  const down = SignalInferenceResponseSchema.parse(await (await post('/v1/signal', request(0.05))).json());
  assert.ok(up.score > 0.5 && down.score < 0.5, `${up.score} / ${down.score}`);
  assert.equal(written.at(-1)?.symbol, 'AAPL');
});

test('a request that breaks the contract is a 400 naming the field', async () => {
  const response = await post('/v1/signal', { symbol: 'AAPL', asOf: '2026-11-20T00:00:00Z', horizonDays: 0 });
  assert.equal(response.status, 400);
  const body = (await response.json()) as { error: { fields: { path: string }[] } };
  assert.deepEqual(
    body.error.fields.map((field) => field.path),
    ['horizonDays'],
  );
});
