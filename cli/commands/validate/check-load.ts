// Check 5: --requests valid requests with --concurrency in flight. The latency is information;
// the check fails only when requests fail under load (a non-2xx status, a timeout, a dropped connection).
import { Failures, failed, passed, type CheckResult } from './check-result';
import { timeoutLimit, signalCall, type CheckContext } from './context';
import { formatMs, transportProblem } from './describe-outcome';
import { randomRequest } from './generate-requests';
import { percentiles, type Percentiles } from './percentiles';
import { runPool } from './pool';
import { createRandom } from './prng';

export const LOAD_CHECK = { id: 'load', name: 'latency under load' } as const;

export interface LoadOutcome {
  check: CheckResult;
  /** Of the 2xx answers, in milliseconds; undefined when there were none. */
  latency?: Percentiles;
}

export async function checkLoad(context: CheckContext): Promise<LoadOutcome> {
  const { client, timeoutMs } = context;
  const random = createRandom(context.seed, 'load');
  const requests = Array.from({ length: context.requests }, () => randomRequest(random, context.bounds));
  const failures = new Failures();
  const errorKinds = new Map<string, number>();
  const durations: number[] = [];
  const limit = timeoutLimit(context);
  let sent = 0;
  const started = performance.now();
  await runPool(
    requests,
    context.concurrency,
    async (request, index) => {
      sent += 1;
      const exchange = await client.send(signalCall(`load request ${index + 1}`, request));
      const { outcome } = exchange;
      const problem = transportProblem(outcome, timeoutMs);
      let kind: string | undefined;
      if (problem !== undefined) kind = outcome.kind === 'timeout' ? 'timeout' : outcome.kind === 'network' ? (outcome.code ?? 'connection failed') : 'cut off';
      else if (outcome.kind === 'response' && (outcome.status < 200 || outcome.status > 299)) kind = `HTTP ${outcome.status}`;
      if (kind === undefined) {
        durations.push(exchange.ms);
        return;
      }
      errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1);
      failures.add(exchange.call.label, problem ?? `${kind} (expected 2xx)`, exchange);
    },
    () => failures.timeouts >= limit,
  );
  const seconds = (performance.now() - started) / 1000;
  const latency = percentiles(durations);
  const figures = latency
    ? `p50 ${formatMs(latency.p50)}, p95 ${formatMs(latency.p95)}, p99 ${formatMs(latency.p99)}, ${Math.round(durations.length / seconds)} answers/s`
    : 'no 2xx answer';
  const inFlight = `${Math.min(context.concurrency, context.requests)} in flight`;
  if (failures.count === 0) return { check: passed(LOAD_CHECK.id, LOAD_CHECK.name, `${sent} requests, ${inFlight}: ${figures}; no errors`), latency };
  const kinds = [...errorKinds.entries()].map(([kind, count]) => `${kind} ×${count}`).join(', ');
  const stopped = sent < context.requests ? `, stopped after ${failures.timeouts} timeouts` : '';
  const detail = `${failures.count} of ${sent} requests failed under load (${kinds}${stopped}); ${inFlight}: ${figures}`;
  return { check: failed(LOAD_CHECK.id, LOAD_CHECK.name, detail, failures), latency };
}
