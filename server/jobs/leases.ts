import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { Queryable } from '../db/notifications';
import { updateReturning } from '../db/returning';

/** A name for this process's worker, unique across restarts: `<host>:<pid>:<random>`. */
export function newWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

export interface LeaseTable {
  /** A table with `id`, `worker_id` and `lease_expires_at` columns. */
  table: string;
  /** The SQL condition of rows that are being worked on (only those hold leases), e.g. `status IN ('RUNNING')`. */
  active: string;
  leaseSeconds: number;
  workerId: string;
}

/**
 * Leases on rows of a work table. The holder renews its leases while it works (every third of
 * the lease); a row whose lease lapsed belongs to a process that died or stalled, and another
 * one may adopt it or end it. A stalled holder finds out at its next renewal that the row is
 * no longer its own.
 */
export class Leases {
  constructor(
    private readonly dataSource: DataSource,
    private readonly spec: LeaseTable,
  ) {}

  get workerId(): string {
    return this.spec.workerId;
  }

  /** How often a holder renews, and a reaper looks for lapsed leases. */
  get heartbeatMs(): number {
    return Math.max(1000, (this.spec.leaseSeconds * 1000) / 3);
  }

  /** Claims the first row `where` matches that no other transaction holds (FOR UPDATE SKIP LOCKED), or null. */
  async claimNext(manager: Queryable, where: string, orderBy: string, parameters: unknown[] = []): Promise<string | null> {
    const rows = (await manager.query(`SELECT id FROM ${this.spec.table} WHERE ${where} ORDER BY ${orderBy} LIMIT 1 FOR UPDATE SKIP LOCKED`, parameters)) as {
      id: string;
    }[];
    return rows[0]?.id ?? null;
  }

  /** Renews the leases of `ids`; returns those still ours (another process took the rest). */
  async renew(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const renewed = await updateReturning<{ id: string }>(
      this.dataSource,
      `UPDATE ${this.spec.table} SET lease_expires_at = now() + make_interval(secs => $3)
        WHERE id = ANY($1) AND worker_id = $2 AND ${this.spec.active} RETURNING id`,
      [[...ids], this.spec.workerId, this.spec.leaseSeconds],
    );
    return new Set(renewed.map((row) => row.id));
  }

  /** Active rows whose lease lapsed, other than `mine`, with the columns asked for. */
  lapsed<Row extends { id: string }>(columns: string, mine: readonly string[]): Promise<Row[]> {
    return this.dataSource.query(`SELECT ${columns} FROM ${this.spec.table} WHERE ${this.spec.active} AND lease_expires_at < now() AND NOT (id = ANY($1))`, [
      [...mine],
    ]);
  }

  /** Takes over a row whose lease lapsed; false when another process was first. */
  async adopt(id: string): Promise<boolean> {
    const taken = await updateReturning<{ id: string }>(
      this.dataSource,
      `UPDATE ${this.spec.table} SET worker_id = $2, lease_expires_at = now() + make_interval(secs => $3)
        WHERE id = $1 AND lease_expires_at < now() RETURNING id`,
      [id, this.spec.workerId, this.spec.leaseSeconds],
    );
    return taken.length > 0;
  }
}
