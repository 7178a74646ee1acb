// Parsers of the flags of `mp validate`; each throws a message that yargs turns into a usage error (exit 2).
import { MAX_SEED } from './prng';

export const DEFAULT_URL = 'http://127.0.0.1:8080';
export const CONTRACTS = ['signal'] as const;
export type ContractName = (typeof CONTRACTS)[number];

const MIN_TIMEOUT_MS = 100;
const MAX_TIMEOUT_MS = 10 * 60_000;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000 } as const;

/** A flag given twice comes as an array from yargs: the last one counts, as with most tools. */
function lastValue(input: unknown): string {
  return String((Array.isArray(input) ? input[input.length - 1] : input) ?? '').trim();
}

/** The endpoint's base URL, without a trailing slash; it must name http or https. */
export function parseBaseUrl(input: unknown): string {
  const text = lastValue(input);
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw new Error(`invalid --url "${text}": give the scheme too, e.g. http://${text || '127.0.0.1:8080'}`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`invalid --url "${text}": not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`invalid --url "${text}": use http:// or https://`);
  if (url.search !== '' || url.hash !== '') throw new Error(`invalid --url "${text}": a base URL has no query or fragment`);
  if (url.username !== '' || url.password !== '') throw new Error(`invalid --url "${text}": no user or password in the URL`);
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

/** `--timeout 10s`, `500ms`, `2m`, or plain seconds (`10`): milliseconds, from 100 ms to 10 minutes. */
export function parseTimeoutMs(input: unknown): number {
  const text = lastValue(input);
  const match = /^(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m)?$/i.exec(text);
  if (!match) throw new Error(`invalid --timeout "${text}": use a duration such as 10s, 500ms or 2m`);
  const unit = (match[2]?.toLowerCase() ?? 's') as keyof typeof UNIT_MS;
  const ms = Math.round(Number(match[1]) * UNIT_MS[unit]);
  if (ms < MIN_TIMEOUT_MS || ms > MAX_TIMEOUT_MS) throw new Error(`invalid --timeout "${text}": from 100ms to 10m`);
  return ms;
}

/** A whole number from `min` to `max`. */
export function parseWholeNumber(flag: string, min: number, max: number): (input: unknown) => number {
  return (input: unknown) => {
    const text = lastValue(input);
    const number = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(number) || number < min || number > max) {
      throw new Error(`invalid ${flag} "${text}": use a whole number from ${min} to ${max}`);
    }
    return number;
  };
}

export const parseRequests = parseWholeNumber('--requests', 1, 100_000);
export const parseConcurrency = parseWholeNumber('--concurrency', 1, 1000);
export const parseSeed = parseWholeNumber('--seed', 0, MAX_SEED);
