import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The signal store, partitioned by month of asOf (declarative partitioning, on PGlite too): the
 * cluster task `signal-partitions` creates this month's and the next ones ahead of time; the
 * DEFAULT partition takes any other date (a push of older predictions). The key is the
 * deployment's (symbol, asOf, horizon): writing it again is a no-op or a revision.
 */
export class Signals1765200000000 implements MigrationInterface {
  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE signals (
        deployment_id text NOT NULL,
        symbol text NOT NULL,
        as_of timestamptz NOT NULL,
        horizon_days integer NOT NULL CHECK (horizon_days BETWEEN 1 AND 365),
        score double precision NOT NULL CHECK (score >= 0 AND score <= 1),
        confidence double precision NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
        vendor_id text NOT NULL,
        model_id text,
        round_number integer NOT NULL,
        written_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (deployment_id, symbol, as_of, horizon_days)
      ) PARTITION BY RANGE (as_of)`);
    await db.query(`CREATE TABLE signals_default PARTITION OF signals DEFAULT`);
    await db.query(`CREATE INDEX signals_symbol_as_of ON signals (symbol, as_of DESC)`);
    await db.query(`CREATE INDEX signals_vendor_as_of ON signals (vendor_id, as_of DESC)`);
    await db.query(`CREATE INDEX signals_round ON signals (round_number, model_id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE signals`);
  }
}
