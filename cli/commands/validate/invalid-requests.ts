// Requests a conforming endpoint must refuse with 4xx: broken JSON, wrong types, values just
// outside the contract's bounds, bodies it must not take.
import type { SignalInferenceRequest } from '../../../generated/contracts';
import type { SignalBounds } from './contract-bounds';
import { BATCH_PATH, JSON_HEADERS, postJson, SIGNAL_PATH } from './context';
import type { HttpCall } from './http-client';

/** Larger than any request of the contract needs: an endpoint should cap its bodies below this (413). */
export const OVERSIZED_BODY_BYTES = 2 * 1024 * 1024;

const BASE: SignalInferenceRequest = { symbol: 'AAPL', asOf: '2024-01-02T21:00:00.000Z', horizonDays: 5 };

function without(key: keyof SignalInferenceRequest): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...BASE };
  delete copy[key];
  return copy;
}

function raw(label: string, path: string, body: string, contentType = 'application/json'): HttpCall {
  return { label, method: 'POST', path, headers: { ...JSON_HEADERS, 'content-type': contentType }, body };
}

export function invalidRequests(bounds: SignalBounds): HttpCall[] {
  const { symbolLength, horizonDays, featureNameLength } = bounds;
  const signal = (label: string, value: unknown) => postJson(label, SIGNAL_PATH, value);
  const features = (count: number) => Array.from({ length: count }, (_, i) => ({ name: `f_${i}`, value: 0.01 }));
  const candles = (count: number) =>
    Array.from({ length: count }, (_, i) => ({ time: new Date(Date.UTC(2020, 0, 1) + i * 86_400_000).toISOString(), open: 1, high: 1, low: 1, close: 1 }));
  const padding = 'x'.repeat(OVERSIZED_BODY_BYTES);
  return [
    signal('missing symbol', without('symbol')),
    signal('missing asOf', without('asOf')),
    signal('missing horizonDays', without('horizonDays')),
    signal('symbol is a number', { ...BASE, symbol: 42 }),
    signal('horizonDays is a string ("5")', { ...BASE, horizonDays: '5' }),
    signal('horizonDays is not an Int (2.5)', { ...BASE, horizonDays: 2.5 }),
    signal('asOf is not a date-time ("yesterday")', { ...BASE, asOf: 'yesterday' }),
    signal('asOf without a time zone', { ...BASE, asOf: '2024-01-02T21:00:00' }),
    signal('features is an object, not a list', { ...BASE, features: { ret_5d: 0.01 } }),
    signal('featureVector holds a string', { ...BASE, featureVector: [0.1, 'high', 0.3] }),
    signal('a feature without a value', { ...BASE, features: [{ name: 'ret_5d' }] }),
    signal(`horizonDays ${horizonDays.min - 1}`, { ...BASE, horizonDays: horizonDays.min - 1 }),
    signal(`horizonDays ${horizonDays.max + 1}`, { ...BASE, horizonDays: horizonDays.max + 1 }),
    signal(symbolLength.min > 1 ? `symbol of ${symbolLength.min - 1} characters` : 'symbol empty', { ...BASE, symbol: 'A'.repeat(symbolLength.min - 1) }),
    signal(`symbol of ${symbolLength.max + 1} characters`, { ...BASE, symbol: 'A'.repeat(symbolLength.max + 1) }),
    signal('symbol with characters other than letters, digits, . and - ("AB$ C")', { ...BASE, symbol: 'AB$ C' }),
    signal(`${bounds.maxFeatures + 1} features`, { ...BASE, features: features(bounds.maxFeatures + 1) }),
    signal(`featureVector of ${bounds.maxFeatureVector + 1} numbers`, {
      ...BASE,
      featureVector: Array.from({ length: bounds.maxFeatureVector + 1 }, () => 0.01),
    }),
    signal(`feature name of ${featureNameLength.max + 1} characters`, { ...BASE, features: [{ name: 'f'.repeat(featureNameLength.max + 1), value: 1 }] }),
    signal(`${bounds.maxCandles + 1} candles`, { ...BASE, candles: candles(bounds.maxCandles + 1) }),
    raw('malformed JSON', SIGNAL_PATH, '{"symbol": "AAPL", "asOf": "2024-01-02T21:00:00.000Z", "horizonDays": 5'),
    raw('a JSON list instead of an object', SIGNAL_PATH, '[]'),
    raw('an empty body', SIGNAL_PATH, ''),
    raw('content-type text/plain', SIGNAL_PATH, JSON.stringify(BASE), 'text/plain'),
    raw('a 2 MB body', SIGNAL_PATH, `${JSON.stringify(BASE).slice(0, -1)},"padding":"${padding}"}`),
    postJson(`batch of ${bounds.batchSize.max + 1} requests`, BATCH_PATH, { requests: Array.from({ length: bounds.batchSize.max + 1 }, () => BASE) }),
    postJson(`batch of ${bounds.batchSize.min - 1} requests`, BATCH_PATH, { requests: Array.from({ length: bounds.batchSize.min - 1 }, () => BASE) }),
    postJson('batch with one invalid request', BATCH_PATH, { requests: [BASE, { ...BASE, horizonDays: horizonDays.max + 1 }] }),
  ];
}
