// The report of `mp validate`: a line per check (with the failing requests as curl commands) and a
// summary for people; one JSON object with --json.
import type { Paint } from '../../output';
import type { CheckResult, Failure } from './check-result';
import { curlCommand } from './curl';
import { describeOutcome, formatMs, transportProblem } from './describe-outcome';
import { truncate } from './truncate';
import type { ValidationReport } from './validate-endpoint';
import { CHECKS } from './validate-endpoint';

/** Failures printed per check; --json has up to MAX_KEPT_FAILURES. */
const SHOWN_FAILURES = 3;
const JSON_BODY_CHARS = 1000;
const NAME_WIDTH = Math.max(...CHECKS.map((check) => check.name.length));

const MARKS = { pass: ['green', '✓'], fail: ['red', '✗'], skip: ['dim', '-'] } as const;

export function renderHeader(report: Pick<ValidationReport, 'url' | 'contract' | 'seed'>): string {
  return `Validating ${report.url} against the ${report.contract} contract (seed ${report.seed})`;
}

function renderFailure(failure: Failure, check: CheckResult, timeoutMs: number, seed: number, paint: Paint): string[] {
  const { exchange } = failure;
  const curl = curlCommand(exchange.url, exchange.call);
  const reason = failure.reason === check.detail ? '' : `: ${failure.reason}`;
  const lines = [`    ${paint('bold', failure.label)}${reason}`, `      ${paint('cyan', `$ ${curl.command}`)}`];
  if (curl.truncated) {
    const size = Buffer.byteLength(exchange.call.body ?? '');
    lines.push(paint('dim', `      (body cut to its beginning here, ${size} bytes in all; mp validate --seed ${seed} sends it whole)`));
  }
  lines.push(`      → ${describeOutcome(exchange.outcome, timeoutMs, exchange.ms)}`);
  return lines;
}

export function renderCheck(check: CheckResult, paint: Paint, timeoutMs: number, seed: number): string {
  const [style, mark] = MARKS[check.verdict];
  const lines = [`${paint(style, mark)} ${paint('bold', check.name.padEnd(NAME_WIDTH))}  ${check.detail}`];
  for (const failure of check.failures.slice(0, SHOWN_FAILURES)) lines.push(...renderFailure(failure, check, timeoutMs, seed, paint));
  const more = check.failureCount - Math.min(SHOWN_FAILURES, check.failures.length);
  if (more > 0) lines.push(paint('dim', `    … and ${more} more (--json lists the first ${check.failures.length})`));
  return lines.join('\n');
}

export function renderSummary(report: ValidationReport, paint: Paint): string {
  const lines: string[] = [];
  if (report.latency) {
    const { p50, p95, p99 } = report.latency;
    lines.push(`Latency under load: p50 ${formatMs(p50)}, p95 ${formatMs(p95)}, p99 ${formatMs(p99)}`);
  }
  const total = report.checks.length;
  const failedChecks = report.checks.filter((check) => check.verdict === 'fail');
  const skippedChecks = report.checks.filter((check) => check.verdict === 'skip');
  if (report.ok) {
    lines.push(`${paint('green', '✓')} All ${total} checks passed for ${report.url} (seed ${report.seed})`);
  } else if (report.unreachable !== undefined) {
    lines.push(`${paint('red', '✗')} ${report.url} is unreachable: ${report.unreachable}; ${skippedChecks.length} checks not run`);
  } else {
    const names = failedChecks.map((check) => check.name).join(', ');
    lines.push(`${paint('red', '✗')} ${failedChecks.length} of ${total} checks failed: ${names}. Replay the same requests with --seed ${report.seed}`);
  }
  return lines.join('\n');
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

function answerBody(body: string): { body: string; bodyTruncated: boolean } {
  const cut = truncate(body, JSON_BODY_CHARS);
  return { body: cut.text, bodyTruncated: cut.truncated };
}

function failureJson(failure: Failure, timeoutMs: number) {
  const { call, url, outcome, ms } = failure.exchange;
  const body = call.body === undefined ? undefined : truncate(call.body, JSON_BODY_CHARS);
  return {
    label: failure.label,
    reason: failure.reason,
    request: {
      method: call.method,
      url,
      headers: call.headers,
      body: body?.text ?? null,
      bodyBytes: call.body === undefined ? 0 : Buffer.byteLength(call.body),
      bodyTruncated: body?.truncated ?? false,
    },
    curl: curlCommand(url, call).command,
    response:
      outcome.kind === 'response'
        ? { status: outcome.status, contentType: outcome.contentType ?? null, bytes: outcome.bytes, ...answerBody(outcome.body) }
        : null,
    error: transportProblem(outcome, timeoutMs) ?? null,
    ms: round(ms),
  };
}

export function reportJson(report: ValidationReport, timeoutMs: number) {
  return {
    url: report.url,
    contract: report.contract,
    seed: report.seed,
    checks: report.checks.map((check) => ({
      id: check.id,
      name: check.name,
      verdict: check.verdict,
      detail: check.detail,
      failureCount: check.failureCount,
      failures: check.failures.map((failure) => failureJson(failure, timeoutMs)),
    })),
    latency: report.latency
      ? { p50: round(report.latency.p50), p95: round(report.latency.p95), p99: round(report.latency.p99) }
      : { p50: null, p95: null, p99: null },
    unreachable: report.unreachable ?? null,
    ok: report.ok,
  };
}
