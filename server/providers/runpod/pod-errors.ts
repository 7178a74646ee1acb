import { DomainError } from '../../domain-error';
import { RunPodHttpError, RunPodUnreachableError } from './http';

/**
 * RunPod's refusals of pod calls as errors whose message says what to do (openapi-v2.json,
 * createPod's table of statuses): DomainError for what a vendor or the operator can act on,
 * a plain Error (INTERNAL to clients, logged) for the rest.
 */

/** A final refusal of any pod call; `doing` completes "could not ..." ("read pod abc"). */
export function podCallError(error: unknown, doing: string): Error {
  if (error instanceof RunPodHttpError) {
    const detail = error.detail ? `: ${error.detail}` : '';
    switch (error.status) {
      case 401:
        return new DomainError('PRECONDITION_FAILED', `RunPod refused the API key (HTTP 401${detail}); check RUNPOD_API_KEY`);
      case 402:
        return insufficientBalance(error.detail);
      case 403:
        return new DomainError('PRECONDITION_FAILED', `the RunPod API key lacks permission to ${doing} (HTTP 403${detail})`);
      case 429:
        return new DomainError('RATE_LIMITED', `RunPod kept rate-limiting the calls to ${doing} (HTTP 429${detail}); try again shortly`);
      default:
        return new Error(`RunPod could not ${doing} (HTTP ${error.status}${detail})`);
    }
  }
  if (error instanceof RunPodUnreachableError) return new Error(`RunPod could not be reached to ${doing}: ${error.reason} (${error.attempts} attempts)`);
  if (error instanceof DomainError) return error;
  return new Error(`RunPod could not ${doing}: ${error instanceof Error ? error.message : String(error)}`);
}

/**
 * A refusal of `POST /v2/pods` that no other GPU candidate can get past: 402, 422 (never
 * retried), 401, 429 after its retries, and anything unexpected. 400 and 403 are the caller's
 * (they move to the next candidate).
 */
export function createRefusal(error: RunPodHttpError): Error {
  if (error.status === 422) {
    const fields = /\bimage\b/i.test(error.detail) ? [{ field: 'image', message: error.detail }] : undefined;
    return new DomainError(
      'BAD_USER_INPUT',
      `RunPod rejected the pod request (HTTP 422): ${error.detail || 'the request does not match the API'}`,
      fields ? { fields } : {},
    );
  }
  if (error.status === 402 || error.status === 401 || error.status === 429) return podCallError(error, 'create the pod');
  return new Error(`RunPod refused to create the pod (HTTP ${error.status}${error.detail ? `: ${error.detail}` : ''})`);
}

export function insufficientBalance(detail: string): DomainError {
  return new DomainError(
    'PRECONDITION_FAILED',
    `insufficient RunPod balance: add funds to the RunPod account, then deploy again${detail ? ` (RunPod: ${detail})` : ''}`,
  );
}

/** The same error with its message masked (a DomainError keeps its code and details). */
export function maskedError(error: unknown, mask: (text: string) => string): Error {
  if (error instanceof DomainError) {
    const fields = error.details.fields?.map((field) => ({ field: field.field, message: mask(field.message) }));
    return new DomainError(error.code, mask(error.message), { ...error.details, ...(fields ? { fields } : {}) });
  }
  return new Error(mask(error instanceof Error ? error.message : String(error)));
}
