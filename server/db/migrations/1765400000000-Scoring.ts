import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Scoring: `round_scorings` is the cluster-wide queue (one row per round, leased by the process
 * scoring it; resolving a round queues it, re-scoring queues it again), `model_scores` the result:
 * per round one row per scored model and one for the consensus itself (`subject` 'consensus'),
 * with the summaries in columns (for ranking) and the per-date or per-symbol scores in `details`.
 * A round's rows are replaced in one transaction, so recomputing writes the same rows.
 */
export class Scoring1765400000000 implements MigrationInterface {
  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE round_scorings (
        id text PRIMARY KEY,
        round_number integer NOT NULL UNIQUE REFERENCES dataset_rounds(number) ON DELETE CASCADE,
        status text NOT NULL CHECK (status IN ('QUEUED', 'RUNNING', 'DONE', 'FAILED')),
        worker_id text,
        lease_expires_at timestamptz,
        attempts integer NOT NULL DEFAULT 0,
        requested_by text NOT NULL,
        method text,
        label text,
        models integer,
        error text,
        queued_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz
      )`);
    await db.query(`CREATE INDEX round_scorings_due ON round_scorings (queued_at) WHERE status IN ('QUEUED', 'RUNNING')`);
    await db.query(`
      CREATE TABLE model_scores (
        round_number integer NOT NULL REFERENCES dataset_rounds(number) ON DELETE CASCADE,
        subject text NOT NULL,
        model_id text REFERENCES catalog_models(id) ON DELETE CASCADE,
        vendor_id text,
        method text NOT NULL,
        corr_mean double precision,
        corr_std double precision,
        corr_sharpe double precision,
        corr_hit_rate double precision,
        mmc_mean double precision,
        mmc_std double precision,
        mmc_sharpe double precision,
        fnc_mean double precision,
        fnc_std double precision,
        fnc_sharpe double precision,
        scored integer NOT NULL,
        details jsonb NOT NULL,
        scored_at timestamptz NOT NULL,
        PRIMARY KEY (round_number, subject),
        CHECK ((subject = 'consensus') = (model_id IS NULL))
      )`);
    await db.query(`CREATE INDEX model_scores_model ON model_scores (model_id, round_number DESC)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE model_scores`);
    await db.query(`DROP TABLE round_scorings`);
  }
}
