import { setTimeout as sleep } from 'node:timers/promises';
import { DomainError } from '../domain-error';

/**
 * How long a refusal for too many failed attempts waits before it is sent. Refusing is cheap,
 * but a client that ignores Retry-After and asks again at once could still keep a core busy
 * with refusals; held for a second, each of its connections gets one answer a second, at the
 * cost of a timer.
 */
export const THROTTLED_ANSWER_DELAY_MS = 1000;

/** Waits before answering when `error` is a RATE_LIMITED refusal of a credential. */
export async function holdThrottledAnswer(error: unknown): Promise<void> {
  if (error instanceof DomainError && error.code === 'RATE_LIMITED') await sleep(THROTTLED_ANSWER_DELAY_MS);
}
