import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Training1764300000000 implements MigrationInterface {
  name = 'Training1764300000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE training_runs (
        id text PRIMARY KEY,
        vendor_id text NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
        task text NOT NULL CHECK (task IN ('SIGNAL', 'CONSENSUS', 'OPTIMIZER')),
        round_number integer NOT NULL REFERENCES dataset_rounds(number),
        template text,
        image text,
        hyperparameters jsonb NOT NULL DEFAULT '[]',
        gpu_type text NOT NULL,
        provider text NOT NULL CHECK (provider IN ('LOCAL', 'RUNPOD')),
        timeout_seconds integer NOT NULL CHECK (timeout_seconds BETWEEN 60 AND 604800),
        max_budget_usd numeric(12, 4) NOT NULL CHECK (max_budget_usd > 0),
        status text NOT NULL CHECK (status IN ('QUEUED', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'BUDGET_EXCEEDED')),
        provider_job_id text,
        queued_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz,
        exit_code integer,
        failure_reason text,
        cost_usd numeric(12, 4) NOT NULL DEFAULT 0,
        log_line_count integer NOT NULL DEFAULT 0,
        history jsonb NOT NULL DEFAULT '[]',
        idempotency_key text,
        spec_hash text NOT NULL,
        worker_id text,
        lease_expires_at timestamptz,
        UNIQUE (vendor_id, idempotency_key)
      )`);
    await db.query(`CREATE INDEX training_runs_vendor ON training_runs (vendor_id, queued_at DESC, id DESC)`);
    await db.query(`CREATE INDEX training_runs_queue ON training_runs (queued_at, id) WHERE status = 'QUEUED'`);
    await db.query(`CREATE INDEX training_runs_active ON training_runs (lease_expires_at) WHERE status IN ('STARTING', 'RUNNING')`);
    await db.query(`
      CREATE TABLE training_log_lines (
        run_id text NOT NULL REFERENCES training_runs(id) ON DELETE CASCADE,
        seq integer NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        stream text NOT NULL,
        line text NOT NULL,
        PRIMARY KEY (run_id, seq)
      )`);
    await db.query(`
      CREATE TABLE training_metrics (
        run_id text NOT NULL REFERENCES training_runs(id) ON DELETE CASCADE,
        name text NOT NULL,
        step integer NOT NULL,
        value double precision NOT NULL,
        at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX training_metrics_run ON training_metrics (run_id, name, step)`);
    await db.query(`
      CREATE TABLE training_artifacts (
        run_id text NOT NULL REFERENCES training_runs(id) ON DELETE CASCADE,
        name text NOT NULL,
        size_bytes bigint NOT NULL,
        sha256 text NOT NULL,
        blob_key text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (run_id, name)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE training_artifacts`);
    await db.query(`DROP TABLE training_metrics`);
    await db.query(`DROP TABLE training_log_lines`);
    await db.query(`DROP TABLE training_runs`);
  }
}
