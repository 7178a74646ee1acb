// Words for what came back (or did not) from one request, as the report prints them.
import { formatBytes, formatDuration } from '../../format';
import type { Outcome } from './http-client';
import { truncate } from './truncate';

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found (DNS)',
  EAI_AGAIN: 'host not found (DNS lookup failed)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  ECONNRESET: 'the endpoint reset the connection',
  EPIPE: 'the endpoint closed the connection while the request was being sent',
  INCOMPLETE: 'the connection closed before the whole answer came',
  CERT_HAS_EXPIRED: 'TLS certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate cannot be verified',
};

/** Failures where nothing answered at all: the endpoint is not there (exit 6 when /health meets one). */
export const UNREACHABLE_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);

export function networkReason(code: string | undefined, message: string): string {
  if (code === 'ECONNRESET' && message === 'socket hang up') return 'the endpoint closed the connection without an answer';
  return (code && NETWORK_REASONS[code]) || message || code || 'the connection failed';
}

/** "no answer within 10 s", "connection refused": what went wrong when there is no whole answer. */
export function transportProblem(outcome: Outcome, timeoutMs: number): string | undefined {
  if (outcome.kind === 'timeout') {
    const phase = outcome.status === undefined ? 'no answer' : `HTTP ${outcome.status} came, but not the whole body,`;
    return `${phase} within ${formatDuration(timeoutMs)} (timeout)`;
  }
  if (outcome.kind === 'network') return networkReason(outcome.code, outcome.message);
  if (!outcome.complete) return `the answer is larger than ${formatBytes(outcome.bytes)} (cut off)`;
  return undefined;
}

/** A latency: "0.8 ms", "12.4 ms", "312 ms", "1.5 s". */
export function formatMs(ms: number): string {
  return ms < 100 ? `${ms.toFixed(1)} ms` : formatDuration(ms);
}

const SHOWN_BODY_CHARS = 300;

/** One line, control characters replaced, at most `max` characters. */
export function snippet(text: string, max = SHOWN_BODY_CHARS): string {
  const cut = truncate(text, max);
  // eslint-disable-next-line no-control-regex
  const flat = cut.text.replace(/\r?\n/g, '⏎').replace(/[\u0000-\u001f\u007f-\u009f]/g, '�');
  return cut.truncated ? `${flat}… (${formatBytes(Buffer.byteLength(text))} in all)` : flat;
}

/** What came back, e.g. `HTTP 500 text/html (2 ms): <h1>Oops</h1>` or `no answer within 1 s (timeout)`. */
export function describeOutcome(outcome: Outcome, timeoutMs: number, ms: number): string {
  if (outcome.kind !== 'response') return transportProblem(outcome, timeoutMs) ?? '';
  const type = outcome.contentType ?? 'no content-type';
  const body = outcome.body === '' ? '(empty body)' : snippet(outcome.body);
  return `HTTP ${outcome.status} ${type} (${formatDuration(ms)}): ${body}`;
}
