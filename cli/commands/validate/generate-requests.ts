// SignalInferenceRequest values that a conforming endpoint must answer: the boundary cases the
// contract's bounds imply, then random ones, all from a seeded PRNG.
import type { CandleInput, FeatureValueInput, SignalInferenceRequest } from '../../../generated/contracts';
import { signalBounds, type SignalBounds } from './contract-bounds';
import type { Random } from './prng';

export interface RequestCase {
  /** What the case exercises, as the report names it. */
  label: string;
  /** A boundary case (an edge of the contract) rather than a random request. */
  boundary: boolean;
  request: SignalInferenceRequest;
}

// The SDL states these in prose only ("A ticker: 1 to 16 characters, letters, digits, . and -";
// horizonDays is an Int), so the generated validators cannot carry them.
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const SYMBOL_INNER = `${LETTERS}0123456789.-`;
const NAME_FIRST = 'abcdefghijklmnopqrstuvwxyz';
const NAME_REST = `${NAME_FIRST}0123456789_`;
const DAY_MS = 86_400_000;
const FIRST_DAY = Date.UTC(2000, 0, 3);
const LAST_DAY = Date.UTC(2030, 11, 31);

function chars(random: Random, alphabet: string, length: number): string {
  let text = '';
  for (let i = 0; i < length; i += 1) text += alphabet[random.int(0, alphabet.length - 1)];
  return text;
}

/** Starts with a letter; `.` and `-` only inside, as real tickers have them (BRK.B, BTC-USD). */
export function randomSymbol(random: Random, length: number): string {
  if (length <= 2) return chars(random, LETTERS, length);
  return chars(random, LETTERS, 1) + chars(random, SYMBOL_INNER, length - 2) + chars(random, LETTERS, 1);
}

function randomDayMs(random: Random): number {
  return FIRST_DAY + random.int(0, Math.floor((LAST_DAY - FIRST_DAY) / DAY_MS)) * DAY_MS;
}

/** An instant as ISO 8601 in UTC, with milliseconds (what JavaScript's toISOString() makes). */
function randomInstant(random: Random): string {
  return new Date(randomDayMs(random) + random.int(0, DAY_MS - 1)).toISOString();
}

/** The same instant written with a +HH:MM offset instead of Z. */
function withOffset(iso: string, hours: number): string {
  const shifted = new Date(new Date(iso).getTime() + hours * 3_600_000).toISOString().slice(0, 19);
  const sign = hours < 0 ? '-' : '+';
  return `${shifted}${sign}${String(Math.abs(hours)).padStart(2, '0')}:00`;
}

function featureValue(random: Random): number {
  const roll = random.next();
  if (roll < 0.05) return 0;
  if (roll < 0.1) return random.int(-1000, 1000);
  if (roll < 0.12) return random.float(-1e6, 1e6);
  return Number(random.float(-0.25, 0.25).toPrecision(6));
}

/** `count` features with distinct names; the first two are of the shortest and longest length allowed. */
function namedFeatures(random: Random, count: number, bounds: SignalBounds, extremeNames = false): FeatureValueInput[] {
  const features: FeatureValueInput[] = [];
  const { min, max } = bounds.featureNameLength;
  for (let i = 0; i < count; i += 1) {
    let name: string;
    if (extremeNames && i === 0) name = chars(random, NAME_FIRST, min);
    else if (extremeNames && i === 1) name = `${chars(random, NAME_FIRST, 1)}${chars(random, NAME_REST, max - 1 - String(i).length)}${i}`;
    else name = `${chars(random, NAME_FIRST, 1)}${chars(random, NAME_REST, random.int(0, 10))}_${i}`.slice(-max);
    features.push({ name, value: featureValue(random) });
  }
  return features;
}

function featureVector(random: Random, count: number): number[] {
  return Array.from({ length: count }, () => featureValue(random));
}

/** Daily bars for the `count` days before `asOf`, oldest first, prices a random walk. */
function candles(random: Random, count: number, asOf: string): CandleInput[] {
  const lastDay = Math.floor(new Date(asOf).getTime() / DAY_MS) * DAY_MS - DAY_MS;
  let close = random.float(5, 500);
  const bars: CandleInput[] = [];
  for (let i = count - 1; i >= 0; i -= 1) {
    const open = close * (1 + random.float(-0.02, 0.02));
    close = Math.max(0.01, open * (1 + random.float(-0.03, 0.03)));
    const high = Math.max(open, close) * (1 + random.float(0, 0.01));
    const low = Math.min(open, close) * (1 - random.float(0, 0.01));
    const bar: CandleInput = {
      time: new Date(lastDay - i * DAY_MS).toISOString(),
      open: round(open),
      high: round(high),
      low: round(low),
      close: round(close),
    };
    const roll = random.next();
    if (roll < 0.8) bar.volume = random.int(0, 50_000_000);
    else if (roll < 0.9) bar.volume = null;
    bars.push(bar);
  }
  return bars;
}

function round(price: number): number {
  return Math.round(price * 10_000) / 10_000;
}

/** A request of the kind a live caller sends: small lists, sometimes none. */
export function randomRequest(random: Random, bounds: SignalBounds = signalBounds()): SignalInferenceRequest {
  const { symbolLength, horizonDays } = bounds;
  const length = random.chance(0.8) ? random.int(symbolLength.min, Math.min(6, symbolLength.max)) : random.int(symbolLength.min, symbolLength.max);
  const asOf = randomInstant(random);
  const request: SignalInferenceRequest = {
    symbol: randomSymbol(random, length),
    asOf,
    horizonDays: random.chance(0.3) ? random.pick([horizonDays.min, 5, 20, horizonDays.max]) : random.int(horizonDays.min, horizonDays.max),
  };
  const list = (): 'absent' | 'null' | 'present' => {
    const roll = random.next();
    return roll < 0.4 ? 'absent' : roll < 0.5 ? 'null' : 'present';
  };
  const features = list();
  if (features === 'null') request.features = null;
  else if (features === 'present') request.features = namedFeatures(random, random.int(0, Math.min(24, bounds.maxFeatures)), bounds);
  const vector = list();
  if (vector === 'null') request.featureVector = null;
  else if (vector === 'present') request.featureVector = featureVector(random, random.int(0, Math.min(24, bounds.maxFeatureVector)));
  const bars = list();
  if (bars === 'null') request.candles = null;
  else if (bars === 'present') request.candles = candles(random, random.int(0, Math.min(30, bounds.maxCandles)), asOf);
  return request;
}

/** The edges of the contract: shortest and longest symbols, both ends of horizonDays, empty and full lists. */
export function boundaryCases(random: Random, bounds: SignalBounds = signalBounds()): RequestCase[] {
  const { symbolLength, horizonDays } = bounds;
  const base = (symbol: string, days: number): SignalInferenceRequest => ({ symbol, asOf: randomInstant(random), horizonDays: days });
  const cases: RequestCase[] = [];
  const add = (label: string, request: SignalInferenceRequest) => cases.push({ label, boundary: true, request });

  add(
    `symbol of ${symbolLength.min} character, horizonDays ${horizonDays.min}, no optional fields`,
    base(randomSymbol(random, symbolLength.min), horizonDays.min),
  );
  add(`symbol of ${symbolLength.max} characters, horizonDays ${horizonDays.max}`, base(randomSymbol(random, symbolLength.max), horizonDays.max));
  add('features, featureVector and candles all empty lists', { ...base('SPY', 20), features: [], featureVector: [], candles: [] });
  add('features, featureVector and candles all null', { ...base('QQQ', 5), features: null, featureVector: null, candles: null });
  add(`${bounds.maxFeatures} named features (names of ${bounds.featureNameLength.min} and ${bounds.featureNameLength.max} characters)`, {
    ...base('AAPL', 5),
    features: namedFeatures(random, bounds.maxFeatures, bounds, true),
  });
  add(`featureVector of ${bounds.maxFeatureVector} numbers`, { ...base('MSFT', 5), featureVector: featureVector(random, bounds.maxFeatureVector) });
  const candleCase = base('NVDA', 20);
  add(`${bounds.maxCandles} candles`, { ...candleCase, candles: candles(random, bounds.maxCandles, candleCase.asOf) });
  const mixed = base('AMZN', 5);
  add('named features, a feature vector and 30 candles together', {
    ...mixed,
    features: namedFeatures(random, 13, bounds),
    featureVector: featureVector(random, 13),
    candles: candles(random, 30, mixed.asOf),
  });
  add('symbol with a dot (BRK.B)', base('BRK.B', 5));
  add('symbol with a dash (BTC-USD)', base('BTC-USD', 1));
  add('symbol of digits only (7203)', base('7203', 10));
  const offset = base('EWJ', 5);
  add('asOf with a +09:00 offset', { ...offset, asOf: withOffset(offset.asOf, 9) });
  add('feature values of 0, negative, tiny and large magnitude', {
    ...base('XOM', 5),
    features: [0, -1, 1e-12, -1e6, 1e6, 123456.789].map((value, i) => ({ name: `edge_${i}`, value })),
    featureVector: [0, -0.5, 1e-12, -1e6, 1e6],
  });
  const largest = base(randomSymbol(random, symbolLength.max), horizonDays.max);
  add('every field at its largest at once', {
    ...largest,
    features: namedFeatures(random, bounds.maxFeatures, bounds, true),
    featureVector: featureVector(random, bounds.maxFeatureVector),
    candles: candles(random, bounds.maxCandles, largest.asOf),
  });
  return cases;
}

/** The boundary cases, then random requests up to `count` (never fewer than the boundary cases). */
export function validRequestCases(random: Random, count: number, bounds: SignalBounds = signalBounds()): RequestCase[] {
  const cases = boundaryCases(random, bounds);
  for (let i = 1; cases.length < count; i += 1) cases.push({ label: `random request ${i}`, boundary: false, request: randomRequest(random, bounds) });
  return cases;
}
