import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Counters shared by every process (server/rate-limits): the layout rate-limiter-flexible's
 * RateLimiterPostgres reads and writes, created here instead of by the library at start.
 * `expire` is epoch milliseconds; rows past it are dead and purged hourly.
 */
export class RateLimits1764600000000 implements MigrationInterface {
  name = 'RateLimits1764600000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE rate_limits (
        key varchar(255) PRIMARY KEY,
        points integer NOT NULL DEFAULT 0,
        expire bigint
      )`);
    await db.query(`CREATE INDEX rate_limits_expire ON rate_limits (expire)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE rate_limits`);
  }
}
