import type { Exchange } from './http-client';

export type Verdict = 'pass' | 'fail' | 'skip';

export type CheckId = 'health' | 'valid' | 'batch' | 'invalid' | 'content-type' | 'load';

/** One request that did not get the answer the contract asks for. */
export interface Failure {
  /** The case, e.g. "horizonDays 366" or "random request 7". */
  label: string;
  /** What was wrong, e.g. "HTTP 500 (expected 4xx)". */
  reason: string;
  exchange: Exchange;
}

export interface CheckResult {
  id: CheckId;
  name: string;
  verdict: Verdict;
  detail: string;
  /** The first few failures, each with its request. */
  failures: Failure[];
  /** All of them, of which `failures` holds the first MAX_KEPT_FAILURES. */
  failureCount: number;
}

export const MAX_KEPT_FAILURES = 30;

export class Failures {
  readonly kept: Failure[] = [];
  count = 0;
  /** Of them, requests that got no answer within --timeout. */
  timeouts = 0;

  add(label: string, reason: string, exchange: Exchange): void {
    this.count += 1;
    if (exchange.outcome.kind === 'timeout') this.timeouts += 1;
    if (this.kept.length < MAX_KEPT_FAILURES) this.kept.push({ label, reason, exchange });
  }
}

export function passed(id: CheckId, name: string, detail: string): CheckResult {
  return { id, name, verdict: 'pass', detail, failures: [], failureCount: 0 };
}

export function failed(id: CheckId, name: string, detail: string, failures: Failures): CheckResult {
  return { id, name, verdict: 'fail', detail, failures: failures.kept, failureCount: failures.count };
}

export function skipped(id: CheckId, name: string, detail: string): CheckResult {
  return { id, name, verdict: 'skip', detail, failures: [], failureCount: 0 };
}
