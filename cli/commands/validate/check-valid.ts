// Check 2: every generated SignalInferenceRequest gets a 2xx JSON SignalInferenceResponse.
import { SignalInferenceRequestSchema, SignalInferenceResponseSchema } from '../../../generated/contracts';
import { Failures, failed, passed, type CheckResult } from './check-result';
import { timeoutLimit, signalCall, SIGNAL_PATH, type CheckContext } from './context';
import { validRequestCases, type RequestCase } from './generate-requests';
import { isJsonContentType } from './json-content-type';
import { conformingAnswer, formatIssues } from './json-answer';
import { runPool } from './pool';
import { createRandom } from './prng';

export const VALID_CHECK = { id: 'valid', name: 'valid requests' } as const;

/** Boundary cases first, random ones up to this many. */
export const VALID_CASE_COUNT = 50;

/** The requests of the check for `seed`; each one conforms to the generated validator (else it is a bug of ours). */
export function validCasesFor(seed: number, bounds: CheckContext['bounds']): RequestCase[] {
  const cases = validRequestCases(createRandom(seed, 'valid'), VALID_CASE_COUNT, bounds);
  for (const { label, request } of cases) {
    const checked = SignalInferenceRequestSchema.safeParse(request);
    if (!checked.success) throw new Error(`mp validate generated an invalid request (${label}): ${formatIssues(checked.error)}`);
  }
  return cases;
}

export async function checkValid(context: CheckContext): Promise<CheckResult> {
  const { client, validCases, answers, timeoutMs } = context;
  const failures = new Failures();
  const limit = timeoutLimit(context);
  const results = await runPool(
    validCases,
    context.concurrency,
    async ({ label, request }) => {
      const call = signalCall(label, request);
      const exchange = await client.send(call);
      const answer = conformingAnswer(exchange, SignalInferenceResponseSchema, 'SignalInferenceResponse', timeoutMs);
      if (!answer.ok) {
        failures.add(label, answer.reason, exchange);
        return false;
      }
      const type = exchange.outcome.kind === 'response' ? exchange.outcome.contentType : undefined;
      if (!isJsonContentType(type)) {
        failures.add(label, `the answer conforms, but its content-type is ${type ?? 'missing'} (expected application/json)`, exchange);
        return false;
      }
      answers.set(call.body ?? '', answer.value);
      return true;
    },
    () => failures.timeouts >= limit,
  );
  const sent = results.filter((result) => result !== undefined).length;
  const boundary = validCases.filter((c) => c.boundary).length;
  if (failures.count === 0) {
    return passed(
      VALID_CHECK.id,
      VALID_CHECK.name,
      `${sent} requests to POST ${SIGNAL_PATH} (${boundary} boundary cases, ${sent - boundary} random): each answered 2xx with a conforming SignalInferenceResponse`,
    );
  }
  const stopped = sent < validCases.length ? `; stopped after ${failures.timeouts} timeouts, ${validCases.length - sent} not sent` : '';
  return failed(
    VALID_CHECK.id,
    VALID_CHECK.name,
    `${failures.count} of ${sent} valid requests to POST ${SIGNAL_PATH} did not get a conforming 2xx answer${stopped}`,
    failures,
  );
}
