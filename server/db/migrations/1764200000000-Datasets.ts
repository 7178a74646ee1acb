import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Datasets1764200000000 implements MigrationInterface {
  name = 'Datasets1764200000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE dataset_rounds (
        number integer PRIMARY KEY CHECK (number > 0),
        name text NOT NULL,
        status text NOT NULL CHECK (status IN ('UPCOMING', 'OPEN', 'CLOSED', 'RESOLVED')),
        description text NOT NULL DEFAULT '',
        opens_at timestamptz,
        closes_at timestamptz,
        resolves_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        symbols text[] NOT NULL,
        horizon_days integer NOT NULL CHECK (horizon_days BETWEEN 1 AND 260),
        feature_names text[] NOT NULL,
        splits jsonb NOT NULL,
        target_thresholds jsonb NOT NULL,
        status_history jsonb NOT NULL DEFAULT '[]'
      )`);
    await db.query(`CREATE INDEX dataset_rounds_status ON dataset_rounds (status, number DESC)`);
    await db.query(`
      CREATE TABLE dataset_files (
        round_number integer NOT NULL REFERENCES dataset_rounds(number) ON DELETE CASCADE,
        kind text NOT NULL CHECK (kind IN ('TRAIN', 'VALIDATION', 'LIVE', 'RESOLUTION')),
        name text NOT NULL,
        format text NOT NULL DEFAULT 'csv',
        size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
        sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        row_count integer NOT NULL,
        columns text[] NOT NULL,
        blob_key text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (round_number, kind)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE dataset_files`);
    await db.query(`DROP TABLE dataset_rounds`);
  }
}
