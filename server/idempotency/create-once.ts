import type { DataSource, EntityManager } from 'typeorm';
import { DomainError, badInput } from '../domain-error';
import type { ClusterSchedule } from '../jobs';

/** How long a key is remembered; the design asks for at least 24 hours. */
export const IDEMPOTENCY_TTL_HOURS = 24;
const MAX_KEY_LENGTH = 200;

export interface IdempotentRequest {
  /** Whose key it is: a vendor id, or `admin:<key id>`. Another caller's same key is another key. */
  scope: string;
  /** The mutation, such as `startTrainingRun`. */
  operation: string;
  /** The key as the client sent it (already normalized), or null when it sent none. */
  key: string | null;
  /** A hash of the normalized input: the same key with other input is refused. */
  requestHash: string;
  /** What the CONFLICT message calls the first result ("run run_..."). */
  describe(resultId: string): string;
}

/** A key from a header or an argument: trimmed, 1 to 200 visible ASCII characters, or null for none. */
export function normalizeIdempotencyKey(raw: string | null | undefined): string | null {
  const key = raw?.trim() || null;
  if (key && (key.length > MAX_KEY_LENGTH || !/^[\x21-\x7e]+$/.test(key))) {
    throw badInput('idempotencyKey', `must be 1 to ${MAX_KEY_LENGTH} visible ASCII characters`);
  }
  return key;
}

/**
 * Runs `create` (in a transaction, returning the new object's id) at most once per key: the
 * claim on the key and the creation commit together, so a crash in between leaves neither.
 * Returns the id, and whether it is the first request's result replayed. `create` must do all
 * its work through `manager`: on the embedded database the transaction holds the one session,
 * so a query through the data source would wait for it.
 */
export async function createOnce(
  dataSource: DataSource,
  request: IdempotentRequest,
  create: (manager: EntityManager) => Promise<string>,
): Promise<{ id: string; replayed: boolean }> {
  if (!request.key) return { id: await dataSource.transaction(create), replayed: false };
  const where = [request.scope, request.operation, request.key];
  return dataSource.transaction(async (manager) => {
    // A concurrent claim of the same key makes this wait until that transaction ends; an expired
    // record is taken over.
    const claimed: unknown[] = await manager.query(
      `INSERT INTO idempotency_records (scope, operation, key, request_hash, expires_at)
       VALUES ($1, $2, $3, $4, now() + make_interval(hours => $5))
       ON CONFLICT (scope, operation, key) DO UPDATE
         SET request_hash = EXCLUDED.request_hash, result_id = NULL, created_at = now(), expires_at = EXCLUDED.expires_at
         WHERE idempotency_records.expires_at <= now()
       RETURNING key`,
      [...where, request.requestHash, IDEMPOTENCY_TTL_HOURS],
    );
    if (claimed.length > 0) {
      const id = await create(manager);
      await manager.query(`UPDATE idempotency_records SET result_id = $4 WHERE scope = $1 AND operation = $2 AND key = $3`, [...where, id]);
      return { id, replayed: false };
    }
    const [record]: { request_hash: string; result_id: string }[] = await manager.query(
      `SELECT request_hash, result_id FROM idempotency_records WHERE scope = $1 AND operation = $2 AND key = $3`,
      where,
    );
    if (record.request_hash !== request.requestHash) {
      throw new DomainError(
        'CONFLICT',
        `idempotency key ${request.key} was already used for ${request.describe(record.result_id)} with a different input: use a new key`,
      );
    }
    return { id: record.result_id, replayed: true };
  });
}

/** Deletes records past their expiry; returns how many. */
export async function purgeExpiredIdempotencyRecords(dataSource: DataSource): Promise<number> {
  const [row]: { purged: string }[] = await dataSource.query(
    `WITH purged AS (DELETE FROM idempotency_records WHERE expires_at <= now() RETURNING 1) SELECT count(*) AS purged FROM purged`,
  );
  return Number(row.purged);
}

/** Purges expired records once an hour, on one process of the cluster. */
export function schedulePurge(schedule: ClusterSchedule, dataSource: DataSource): void {
  schedule.every('idempotency-purge', 3600_000, () => purgeExpiredIdempotencyRecords(dataSource));
}
