/**
 * Idempotency: one table and one helper for every create-type mutation. A client sends an
 * Idempotency-Key (header or argument); the key is scoped to the caller and the operation.
 * - same key, same input: the first result again (nothing is created twice);
 * - same key, other input: CONFLICT;
 * - two at once: the second waits for the first to commit, then gets its result (or, if the
 *   first rolled back, runs itself);
 * - records are kept for at least `IDEMPOTENCY_TTL_HOURS`, then the key may be used anew, and
 *   an hourly cluster-wide task deletes them.
 */
export {
  createOnce,
  normalizeIdempotencyKey,
  purgeExpiredIdempotencyRecords,
  schedulePurge,
  IDEMPOTENCY_TTL_HOURS,
  type IdempotentRequest,
} from './create-once';
