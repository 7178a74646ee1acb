import type { SignalInferenceRequest, SignalInferenceResponse } from '../../../generated/contracts';
import type { SignalBounds } from './contract-bounds';
import type { RequestCase } from './generate-requests';
import type { EndpointClient, HttpCall } from './http-client';

export const HEALTH_PATH = '/health';
export const SIGNAL_PATH = '/v1/signal';
export const BATCH_PATH = '/v1/signals';

export const JSON_HEADERS: Readonly<Record<string, string>> = { accept: 'application/json', 'content-type': 'application/json' };

export interface ValidateSettings {
  /** Without a trailing slash. */
  baseUrl: string;
  seed: number;
  /** How many requests the load check sends, and how many at once. */
  requests: number;
  concurrency: number;
  /** The bound of each request, and of the wait for READY. */
  timeoutMs: number;
}

export interface CheckContext extends ValidateSettings {
  client: EndpointClient;
  bounds: SignalBounds;
  /** The valid requests of the "valid requests" check, and what each got when it conformed (keyed by its body). */
  validCases: RequestCase[];
  answers: Map<string, SignalInferenceResponse>;
}

/**
 * A check stops sending once this many of its requests timed out: an endpoint that hangs costs
 * about one --timeout per check, not one per request. Quick failures do not stop it.
 */
export function timeoutLimit(context: ValidateSettings): number {
  return Math.max(10, context.concurrency);
}

export function postJson(label: string, path: string, value: unknown): HttpCall {
  return { label, method: 'POST', path, headers: { ...JSON_HEADERS }, body: JSON.stringify(value) };
}

export function signalCall(label: string, request: SignalInferenceRequest): HttpCall {
  return postJson(label, SIGNAL_PATH, request);
}
