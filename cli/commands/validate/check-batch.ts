// Check 2b: POST /v1/signals answers a batch (1 up to the contract's largest) with as many
// responses, in the request's order. The order shows when the batch's answers match what the same
// requests got one at a time; that needs an endpoint that answers the same request the same way.
import type { SignalInferenceRequest, SignalInferenceResponse } from '../../../generated/contracts';
import { SignalInferenceBatchResponseSchema, SignalInferenceResponseSchema } from '../../../generated/contracts';
import { Failures, failed, passed, type CheckResult } from './check-result';
import { BATCH_PATH, postJson, signalCall, type CheckContext } from './context';
import { randomRequest } from './generate-requests';
import { isJsonContentType } from './json-content-type';
import { conformingAnswer } from './json-answer';
import { createRandom } from './prng';

export const BATCH_CHECK = { id: 'batch', name: 'batch requests' } as const;

/** Requests this small keep the largest batch well under a megabyte. */
const LIGHT_REQUEST_CHARS = 1000;
const DISTINCT_REQUESTS = 24;
const TOLERANCE = 1e-6;

interface Known {
  request: SignalInferenceRequest;
  /** What it got alone, when the single route answered it. */
  answer?: SignalInferenceResponse;
}

function same(a: SignalInferenceResponse, b: SignalInferenceResponse): boolean {
  return Math.abs(a.score - b.score) <= TOLERANCE && Math.abs(a.confidence - b.confidence) <= TOLERANCE;
}

function scoreText(answer: SignalInferenceResponse): string {
  return `score ${answer.score}, confidence ${answer.confidence}`;
}

/** Light requests whose single answers are known; random new ones when the single route answered none. */
function distinctRequests(context: CheckContext): Known[] {
  const known: Known[] = [];
  for (const { request } of context.validCases) {
    const body = JSON.stringify(request);
    const answer = context.answers.get(body);
    if (answer && body.length <= LIGHT_REQUEST_CHARS) known.push({ request, answer });
    if (known.length === DISTINCT_REQUESTS) break;
  }
  if (known.length >= 2) return known;
  const random = createRandom(context.seed, 'batch');
  const fresh: Known[] = [];
  for (let tries = 0; fresh.length < DISTINCT_REQUESTS && tries < 50 * DISTINCT_REQUESTS; tries += 1) {
    const request = randomRequest(random, context.bounds);
    if (JSON.stringify(request).length <= LIGHT_REQUEST_CHARS) fresh.push({ request });
  }
  return fresh.length > 0 ? fresh : [{ request: randomRequest(random, context.bounds) }];
}

/** Why the order cannot be seen, or undefined when it can. */
async function orderBlindness(context: CheckContext, known: Known[]): Promise<string | undefined> {
  const answered = known.filter((k): k is Required<Known> => k.answer !== undefined);
  if (answered.length < 2) return 'the single route answered too few requests to compare with';
  if (answered.every((k) => same(k.answer, answered[0].answer))) return 'every request got the same score and confidence';
  for (const { request, answer } of answered.slice(0, 3)) {
    const again = conformingAnswer(
      await context.client.send(signalCall('the same request again', request)),
      SignalInferenceResponseSchema,
      'SignalInferenceResponse',
      context.timeoutMs,
    );
    if (!again.ok || !same(again.value, answer)) return 'the endpoint answers the same request with different scores';
  }
  return undefined;
}

export async function checkBatch(context: CheckContext): Promise<CheckResult> {
  const { client, bounds, timeoutMs } = context;
  const known = distinctRequests(context);
  const blind = await orderBlindness(context, known);
  const sizes = [...new Set([bounds.batchSize.min, 7, 64, bounds.batchSize.max])].filter((n) => n >= bounds.batchSize.min && n <= bounds.batchSize.max);
  const failures = new Failures();
  for (const [round, size] of sizes.entries()) {
    // Each batch takes the requests in another order, so that answering in a fixed order shows.
    const items = Array.from({ length: size }, (_, i) => known[(i * 5 + round) % known.length]);
    const label = `batch of ${size}`;
    const exchange = await client.send(postJson(label, BATCH_PATH, { requests: items.map((k) => k.request) }));
    const answer = conformingAnswer(exchange, SignalInferenceBatchResponseSchema, 'SignalInferenceBatchResponse', timeoutMs);
    if (!answer.ok) {
      failures.add(label, answer.reason, exchange);
      // The larger batches would only wait as long again.
      if (exchange.outcome.kind === 'timeout') break;
      continue;
    }
    const type = exchange.outcome.kind === 'response' ? exchange.outcome.contentType : undefined;
    if (!isJsonContentType(type)) {
      failures.add(label, `the answer conforms, but its content-type is ${type ?? 'missing'} (expected application/json)`, exchange);
      continue;
    }
    const { responses } = answer.value;
    if (responses.length !== size) {
      failures.add(label, `${responses.length} responses to ${size} requests (expected one per request, in order)`, exchange);
      continue;
    }
    if (blind) continue;
    const wrong = items.findIndex((k, i) => k.answer !== undefined && !same(responses[i], k.answer));
    if (wrong >= 0) {
      const expected = items[wrong].answer as SignalInferenceResponse;
      failures.add(
        label,
        `responses[${wrong}] has ${scoreText(responses[wrong])}, but requests[${wrong}] alone got ${scoreText(expected)}: answered out of order?`,
        exchange,
      );
    }
  }
  const what = `${sizes.length} batches of ${sizes.join(', ')} requests to POST ${BATCH_PATH}`;
  if (failures.count > 0) return failed(BATCH_CHECK.id, BATCH_CHECK.name, `${failures.count} of ${what} were not answered as the contract says`, failures);
  const order = blind ? `as many responses (order not checked: ${blind})` : 'as many responses, in the same order';
  return passed(BATCH_CHECK.id, BATCH_CHECK.name, `${what}: each answered with ${order}`);
}
