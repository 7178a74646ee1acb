import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One table of idempotency records for every create-type mutation (server/idempotency). The
 * keys training runs kept in their own column move here; the column goes.
 */
export class Idempotency1764400000000 implements MigrationInterface {
  name = 'Idempotency1764400000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE idempotency_records (
        scope text NOT NULL,
        operation text NOT NULL,
        key text NOT NULL,
        request_hash text NOT NULL,
        result_id text,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (scope, operation, key)
      )`);
    await db.query(`CREATE INDEX idempotency_records_expiry ON idempotency_records (expires_at)`);
    await db.query(`
      INSERT INTO idempotency_records (scope, operation, key, request_hash, result_id, created_at, expires_at)
      SELECT vendor_id, 'startTrainingRun', idempotency_key, spec_hash, id, queued_at, queued_at + interval '24 hours'
      FROM training_runs WHERE idempotency_key IS NOT NULL`);
    await db.query(`ALTER TABLE training_runs DROP COLUMN idempotency_key`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE training_runs ADD COLUMN idempotency_key text`);
    await db.query(`ALTER TABLE training_runs ADD CONSTRAINT training_runs_vendor_id_idempotency_key_key UNIQUE (vendor_id, idempotency_key)`);
    await db.query(`
      UPDATE training_runs SET idempotency_key = record.key
      FROM idempotency_records record
      WHERE record.operation = 'startTrainingRun' AND record.result_id = training_runs.id`);
    await db.query(`DROP TABLE idempotency_records`);
  }
}
