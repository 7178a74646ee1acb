import { strict as assert } from 'node:assert';
import { SignalInferenceBatchRequestSchema, SignalInferenceRequestSchema } from '../../generated/contracts';
import { validCasesFor } from '../../cli/commands/validate/check-valid';
import { signalBounds } from '../../cli/commands/validate/contract-bounds';
import { boundaryCases, randomRequest, validRequestCases } from '../../cli/commands/validate/generate-requests';
import { invalidRequests } from '../../cli/commands/validate/invalid-requests';
import { createRandom, MAX_SEED } from '../../cli/commands/validate/prng';

const TICKER = /^[A-Za-z0-9.-]+$/;

describe('mp validate: the request generator', () => {
  const bounds = signalBounds();

  it('reads the bounds of the signal contract from the generated validators', () => {
    assert.deepEqual(bounds, {
      symbolLength: { min: 1, max: 16 },
      horizonDays: { min: 1, max: 365 },
      featureNameLength: { min: 1, max: 64 },
      maxFeatures: 512,
      maxFeatureVector: 512,
      maxCandles: 1000,
      batchSize: { min: 1, max: 500 },
    });
  });

  it('draws the same numbers for the same seed and stream, and others for another seed or stream', () => {
    const draw = (seed: number, stream: string) => {
      const random = createRandom(seed, stream);
      return Array.from({ length: 20 }, () => random.next());
    };
    assert.deepEqual(draw(42, 'valid'), draw(42, 'valid'));
    assert.notDeepEqual(draw(42, 'valid'), draw(43, 'valid'));
    assert.notDeepEqual(draw(42, 'valid'), draw(42, 'load'));
    for (const value of [...draw(0, ''), ...draw(MAX_SEED, 'x')]) assert.ok(value >= 0 && value < 1, String(value));
  });

  it('keeps int() within its bounds, both ends included', () => {
    const random = createRandom(9);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i += 1) {
      const value = random.int(1, 4);
      assert.ok(Number.isInteger(value) && value >= 1 && value <= 4, String(value));
      seen.add(value);
    }
    assert.deepEqual([...seen].sort(), [1, 2, 3, 4]);
  });

  it('generates the same requests for the same seed and different ones for another', () => {
    assert.deepEqual(validCasesFor(1234, bounds), validCasesFor(1234, bounds));
    assert.notDeepEqual(
      validCasesFor(1234, bounds).map((c) => c.request),
      validCasesFor(1235, bounds).map((c) => c.request),
    );
  });

  it('generates only requests the generated validator accepts, with Int horizons and ticker symbols', () => {
    for (let seed = 0; seed < 40; seed += 1) {
      const random = createRandom(seed * 7919, 'property');
      const requests = [...validRequestCases(random, 60, bounds).map((c) => c.request), ...Array.from({ length: 100 }, () => randomRequest(random, bounds))];
      for (const request of requests) {
        const checked = SignalInferenceRequestSchema.safeParse(request);
        assert.ok(checked.success, `seed ${seed}: ${JSON.stringify(request).slice(0, 300)}: ${checked.error?.message}`);
        assert.ok(Number.isInteger(request.horizonDays), `horizonDays ${request.horizonDays}`);
        assert.match(request.symbol, TICKER);
        const names = (request.features ?? []).map((f) => f.name);
        assert.equal(new Set(names).size, names.length, 'feature names are distinct');
        const times = (request.candles ?? []).map((c) => Date.parse(c.time));
        assert.deepEqual(
          times,
          [...times].sort((a, b) => a - b),
          'candles oldest first',
        );
        for (const candle of request.candles ?? [])
          assert.ok(candle.low <= Math.min(candle.open, candle.close) && candle.high >= Math.max(candle.open, candle.close));
      }
    }
  });

  it('includes the boundaries: both ends of horizonDays and symbol length, empty and full lists', () => {
    const requests = boundaryCases(createRandom(5), bounds).map((c) => c.request);
    const has = (what: string, predicate: (r: (typeof requests)[number]) => boolean) => assert.ok(requests.some(predicate), `no request with ${what}`);
    has('horizonDays 1', (r) => r.horizonDays === 1);
    has('horizonDays 365', (r) => r.horizonDays === 365);
    has('a symbol of 1 character', (r) => r.symbol.length === 1);
    has('a symbol of 16 characters', (r) => r.symbol.length === 16);
    has('a symbol with a dot', (r) => r.symbol.includes('.'));
    has('a symbol with a dash', (r) => r.symbol.includes('-'));
    has('empty features', (r) => r.features?.length === 0);
    has('512 features', (r) => r.features?.length === 512);
    has(
      'feature names of 1 and 64 characters',
      (r) => (r.features ?? []).some((f) => f.name.length === 1) && (r.features ?? []).some((f) => f.name.length === 64),
    );
    has('an empty feature vector', (r) => r.featureVector?.length === 0);
    has('a feature vector of 512', (r) => r.featureVector?.length === 512);
    has('empty candles', (r) => r.candles?.length === 0);
    has('1000 candles', (r) => r.candles?.length === 1000);
    has('null lists', (r) => r.features === null && r.featureVector === null && r.candles === null);
    has('no optional field at all', (r) => !('features' in r) && !('featureVector' in r) && !('candles' in r));
    has('named features and a vector together', (r) => (r.features?.length ?? 0) > 0 && (r.featureVector?.length ?? 0) > 0 && (r.candles?.length ?? 0) > 0);
    has('an asOf with an offset', (r) => /[+-]\d\d:\d\d$/.test(r.asOf));
    has(
      'candles with and without volume',
      (r) => (r.candles ?? []).some((c) => c.volume === undefined || c.volume === null) && (r.candles ?? []).some((c) => typeof c.volume === 'number'),
    );
  });

  it('starts with the boundary cases and fills up with random requests', () => {
    const cases = validCasesFor(77, bounds);
    assert.equal(cases.length, 50);
    const firstRandom = cases.findIndex((c) => !c.boundary);
    assert.ok(firstRandom > 10, String(firstRandom));
    assert.ok(cases.slice(firstRandom).every((c) => !c.boundary && /^random request \d+$/.test(c.label)));
    assert.equal(new Set(cases.map((c) => c.label)).size, cases.length, 'labels are distinct');
  });

  it('makes invalid requests that the generated validators refuse (but for the rules the SDL states in prose)', () => {
    // Int fields are integers in the generated validators (codegen.yml maps Int); the symbol's characters are stated in prose only.
    const prose = new Set(['symbol with characters other than letters, digits, . and - ("AB$ C")']);
    const transport = new Set(['malformed JSON', 'an empty body', 'content-type text/plain', 'a 2 MB body']);
    const calls = invalidRequests(bounds);
    assert.equal(new Set(calls.map((c) => c.label)).size, calls.length, 'labels are distinct');
    for (const call of calls) {
      if (transport.has(call.label)) continue;
      const body = JSON.parse(call.body ?? '') as unknown;
      const schema = call.path === '/v1/signals' ? SignalInferenceBatchRequestSchema : SignalInferenceRequestSchema;
      const checked = schema.safeParse(body);
      if (prose.has(call.label)) assert.ok(checked.success, `${call.label} should pass zod and fail only the SDL's prose`);
      else assert.ok(!checked.success, `${call.label} passes the generated validator`);
    }
    const labels = calls.map((c) => c.label);
    for (const expected of ['horizonDays 0', 'horizonDays 366', 'symbol empty', 'symbol of 17 characters', '513 features', 'batch of 501 requests']) {
      assert.ok(labels.includes(expected), `no "${expected}" in ${labels.join(', ')}`);
    }
    const big = calls.find((c) => c.label === 'a 2 MB body');
    assert.ok(big?.body && Buffer.byteLength(big.body) > 2 * 1024 * 1024);
    assert.equal(calls.find((c) => c.label === 'content-type text/plain')?.headers['content-type'], 'text/plain');
  });
});
