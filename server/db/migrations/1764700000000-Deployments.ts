import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Inference deployments, their tokens (hashes only) and their output lines (server/modules/deployments). */
export class Deployments1764700000000 implements MigrationInterface {
  name = 'Deployments1764700000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE deployments (
        id text PRIMARY KEY,
        vendor_id text NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
        name text NOT NULL,
        template text NOT NULL,
        provider text NOT NULL CHECK (provider IN ('LOCAL', 'RUNPOD')),
        provider_ref text,
        endpoint_url text,
        training_run_id text REFERENCES training_runs(id),
        model_kind text NOT NULL CHECK (model_kind IN ('TRAINING_RUN', 'PATH', 'URL', 'BUILT_IN')),
        model_ref text,
        model_sha256 text,
        gpu_types jsonb NOT NULL DEFAULT '[]',
        gpu_count integer NOT NULL,
        cpu integer NOT NULL,
        memory_gb integer NOT NULL,
        image text,
        status text NOT NULL CHECK (status IN ('PENDING', 'PROVISIONING', 'STARTING', 'RUNNING', 'STOPPING', 'STOPPED', 'FAILED')),
        health text NOT NULL CHECK (health IN ('UNKNOWN', 'HEALTHY', 'DEGRADED', 'UNHEALTHY')),
        heartbeat_interval_seconds integer NOT NULL CHECK (heartbeat_interval_seconds BETWEEN 1 AND 300),
        last_heartbeat_at timestamptz,
        last_heartbeat jsonb,
        signals_url text,
        rate_limit_per_minute integer NOT NULL CHECK (rate_limit_per_minute > 0),
        token_prefix text NOT NULL,
        history jsonb NOT NULL DEFAULT '[]',
        owner_worker text,
        lease_expires_at timestamptz,
        started_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // A name is unique among a vendor's deployments that still exist.
    await db.query(`CREATE UNIQUE INDEX deployments_live_name ON deployments (vendor_id, name) WHERE status NOT IN ('STOPPED', 'FAILED')`);
    await db.query(`CREATE INDEX deployments_vendor ON deployments (vendor_id, created_at DESC, id DESC)`);
    await db.query(`CREATE INDEX deployments_live ON deployments (status) WHERE status IN ('PROVISIONING', 'STARTING', 'RUNNING')`);
    await db.query(`
      CREATE TABLE deployment_tokens (
        id text PRIMARY KEY,
        deployment_id text NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
        vendor_id text NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
        lookup text NOT NULL UNIQUE,
        secret_hash text NOT NULL,
        scopes jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
      )`);
    await db.query(`CREATE INDEX deployment_tokens_deployment ON deployment_tokens (deployment_id)`);
    await db.query(`
      CREATE TABLE deployment_log_lines (
        deployment_id text NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
        seq integer NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        stream text NOT NULL,
        line text NOT NULL,
        PRIMARY KEY (deployment_id, seq)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE deployment_log_lines`);
    await db.query(`DROP TABLE deployment_tokens`);
    await db.query(`DROP TABLE deployments`);
  }
}
