import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Signals a vendor uploads for a model (`mp signals push`, BYOC) beside those its deployments
 * write. The table's key stays (writer, symbol, asOf, horizon): the writer is the deployment for
 * DEPLOYMENT signals and the model itself for UPLOAD ones, so `deployment_id` holds the model's id
 * there and the API shows no deployment.
 */
export class SignalUploads1765500000000 implements MigrationInterface {
  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE signals ADD COLUMN source text NOT NULL DEFAULT 'DEPLOYMENT' CHECK (source IN ('DEPLOYMENT', 'UPLOAD'))`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE signals DROP COLUMN source`);
  }
}
