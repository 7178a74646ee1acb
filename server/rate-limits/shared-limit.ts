import type { DataSource } from 'typeorm';
import { LRUCache } from 'lru-cache';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { ClusterSchedule } from '../jobs';
import type { Logger } from '../logger';
import { sqlStoreClient } from './sql-store-client';

/** The table every shared limit keeps its counters in (migration 1764600000000). */
export const RATE_LIMIT_TABLE = 'rate_limits';

export interface SharedLimitOptions {
  /** Namespaces the keys: `<name>:<key>`. */
  name: string;
  /** How many points a key may spend per window; with `consume`, the most any key's own limit may be. */
  points: number;
  windowSeconds: number;
}

export type LimitState = { limited: false } | { limited: true; retryAfterSeconds: number };

/** What a key has left of its limit in the current window, after `consume`. */
export interface LimitUsage {
  limit: number;
  remaining: number;
  /** Seconds until the window ends and the count starts again. */
  resetSeconds: number;
  /** Set when this spend went past the limit: the seconds to wait. */
  retryAfterSeconds: number | null;
}

/** How often a database failure is logged while it lasts. */
const FALLBACK_WARNING_INTERVAL_MS = 60_000;

/**
 * A fixed-window counter shared by every process through the database (rate-limiter-flexible's
 * Postgres store on our data source). While the database does not answer, each process falls
 * back to its own in-memory counter with the same limit rather than failing requests, and says
 * so in the log.
 */
export class SharedLimit {
  private readonly shared: RateLimiterPostgres;
  private readonly local: RateLimiterMemory;
  private lastWarningAt = 0;
  /**
   * Keys this process has seen at their limit, with when the window ends: asked again, they are
   * refused from memory, so a client hammering past its limit costs no database work at all.
   */
  private readonly exhausted = new LRUCache<string, number>({ max: 100_000 });

  constructor(
    dataSource: DataSource,
    readonly options: SharedLimitOptions,
    private readonly log: Logger,
  ) {
    this.local = new RateLimiterMemory({ keyPrefix: options.name, points: options.points, duration: options.windowSeconds });
    this.shared = new RateLimiterPostgres({
      storeClient: sqlStoreClient(dataSource),
      storeType: 'pool',
      tableName: RATE_LIMIT_TABLE,
      tableCreated: true,
      clearExpiredByTimeout: false,
      keyPrefix: options.name,
      points: options.points,
      duration: options.windowSeconds,
    });
  }

  /** Whether this process already knows `key` has no points left in its window (no database work). */
  knownExhausted(key: string): LimitState {
    const until = this.exhausted.get(key);
    if (until === undefined || until <= Date.now()) return { limited: false };
    return { limited: true, retryAfterSeconds: Math.max(1, Math.ceil((until - Date.now()) / 1000)) };
  }

  /** Spends `points` for `key`, or refuses (limited) when the window has fewer left. */
  async spend(key: string, points = 1): Promise<LimitState> {
    try {
      const res = await this.withFallback((limiter) => limiter.consume(key, points));
      if (res.remainingPoints <= 0) this.remember(key, res);
      return { limited: false };
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      this.remember(key, rejection);
      return { limited: true, retryAfterSeconds: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)) };
    }
  }

  /**
   * Spends `points` for `key` against a limit of the key's own (at most `options.points`, which
   * the counters are built with; by default that), and tells what is left in the window.
   */
  async consume(key: string, limit = this.options.points, points = 1): Promise<LimitUsage> {
    if (!Number.isInteger(limit) || limit < 1 || limit > this.options.points) {
      throw new RangeError(`limit ${limit} of ${this.options.name} must be a whole number from 1 to ${this.options.points}`);
    }
    const known = this.knownExhausted(key);
    if (known.limited) return { limit, remaining: 0, resetSeconds: known.retryAfterSeconds, retryAfterSeconds: known.retryAfterSeconds };
    let res: RateLimiterRes;
    try {
      res = await this.withFallback((limiter) => limiter.consume(key, points));
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      res = rejection;
    }
    const resetSeconds = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
    const remaining = Math.max(0, limit - res.consumedPoints);
    if (remaining === 0) this.remember(key, res);
    return { limit, remaining, resetSeconds, retryAfterSeconds: res.consumedPoints > limit ? resetSeconds : null };
  }

  /** Gives `points` back (an attempt that turned out to be legitimate). */
  async refund(key: string, points = 1): Promise<void> {
    this.exhausted.delete(key);
    await this.withFallback((limiter) => limiter.reward(key, points));
  }

  /** Forgets everything `key` spent in its window. */
  async forgive(key: string): Promise<void> {
    this.exhausted.delete(key);
    await this.withFallback((limiter) => limiter.delete(key));
  }

  private remember(key: string, res: RateLimiterRes): void {
    if (res.msBeforeNext > 0) this.exhausted.set(key, Date.now() + res.msBeforeNext, { ttl: res.msBeforeNext });
  }

  private async withFallback<T>(operation: (limiter: RateLimiterPostgres | RateLimiterMemory) => Promise<T>): Promise<T> {
    try {
      return await operation(this.shared);
    } catch (error) {
      if (error instanceof RateLimiterRes) throw error;
      if (Date.now() - this.lastWarningAt > FALLBACK_WARNING_INTERVAL_MS) {
        this.lastWarningAt = Date.now();
        this.log.warn({ err: error, limit: this.options.name }, 'rate limit counters unavailable in the database: counting in this process only');
      }
      return operation(this.local);
    }
  }
}

/** Dead counters are deleted hourly, by one process of the cluster. */
export function scheduleRateLimitPurge(schedule: ClusterSchedule, dataSource: DataSource): void {
  schedule.every('rate-limit-purge', 3600_000, async () => {
    await dataSource.query(`DELETE FROM ${RATE_LIMIT_TABLE} WHERE expire < $1`, [Date.now()]);
  });
}
