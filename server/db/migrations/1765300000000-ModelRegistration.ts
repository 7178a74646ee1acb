import type { MigrationInterface, QueryRunner } from 'typeorm';

/** `mp register`: a catalog model names the deployment that serves it (and the run that trained it); names are unique per vendor. */
export class ModelRegistration1765300000000 implements MigrationInterface {
  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE catalog_models ADD COLUMN deployment_id text REFERENCES deployments(id) ON DELETE SET NULL`);
    await db.query(`ALTER TABLE catalog_models ADD COLUMN training_run_id text REFERENCES training_runs(id) ON DELETE SET NULL`);
    await db.query(`CREATE UNIQUE INDEX catalog_models_vendor_name ON catalog_models (vendor_id, name)`);
    await db.query(`CREATE INDEX catalog_models_deployment ON catalog_models (deployment_id) WHERE deployment_id IS NOT NULL`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX catalog_models_deployment`);
    await db.query(`DROP INDEX catalog_models_vendor_name`);
    await db.query(`ALTER TABLE catalog_models DROP COLUMN training_run_id`);
    await db.query(`ALTER TABLE catalog_models DROP COLUMN deployment_id`);
  }
}
