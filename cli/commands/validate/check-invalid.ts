// Check 3: invalid requests get 4xx, never 5xx, a dropped connection or a timeout.
import { Failures, failed, passed, type CheckResult } from './check-result';
import { timeoutLimit, type CheckContext } from './context';
import { transportProblem } from './describe-outcome';
import { invalidRequests } from './invalid-requests';
import { runPool } from './pool';

export const INVALID_CHECK = { id: 'invalid', name: 'invalid requests' } as const;

/** "400 ×20, 413, 415". */
function tally(statuses: readonly number[]): string {
  const counts = new Map<number, number>();
  for (const status of statuses) counts.set(status, (counts.get(status) ?? 0) + 1);
  return [...counts.entries()]
    .sort(([a], [b]) => a - b)
    .map(([status, count]) => (count === 1 ? String(status) : `${status} ×${count}`))
    .join(', ');
}

export async function checkInvalid(context: CheckContext): Promise<CheckResult> {
  const { client, timeoutMs } = context;
  const calls = invalidRequests(context.bounds);
  const failures = new Failures();
  const limit = timeoutLimit(context);
  let sent = 0;
  const results = await runPool(
    calls,
    context.concurrency,
    async (call) => {
      sent += 1;
      const exchange = await client.send(call);
      const { outcome } = exchange;
      const problem = transportProblem(outcome, timeoutMs);
      if (problem !== undefined || outcome.kind !== 'response') {
        failures.add(call.label, `${problem ?? 'no answer'} (expected 4xx)`, exchange);
        return undefined;
      }
      if (outcome.status >= 400 && outcome.status <= 499) return outcome.status;
      const why =
        outcome.status >= 500
          ? 'a 5xx means the endpoint failed on input it should refuse'
          : outcome.status >= 200 && outcome.status <= 299
            ? 'the endpoint accepted it'
            : 'neither accepted nor refused';
      failures.add(call.label, `HTTP ${outcome.status} (expected 4xx: ${why})`, exchange);
      return undefined;
    },
    () => failures.timeouts >= limit,
  );
  const refused = results.filter((status): status is number => typeof status === 'number');
  if (failures.count === 0) {
    return passed(INVALID_CHECK.id, INVALID_CHECK.name, `${calls.length} invalid requests, each refused with 4xx (${tally(refused)})`);
  }
  const stopped = sent < calls.length ? `; stopped after ${failures.timeouts} timeouts, ${calls.length - sent} not sent` : '';
  return failed(INVALID_CHECK.id, INVALID_CHECK.name, `${failures.count} of ${sent} invalid requests were not refused with 4xx${stopped}`, failures);
}
