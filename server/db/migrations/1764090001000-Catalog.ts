import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Catalog1764090001000 implements MigrationInterface {
  name = 'Catalog1764090001000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE catalog_models (
        id text PRIMARY KEY,
        vendor_id text NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
        name text NOT NULL,
        slug text NOT NULL UNIQUE,
        description text NOT NULL DEFAULT '',
        task text NOT NULL CHECK (task IN ('SIGNAL', 'CONSENSUS', 'OPTIMIZER')),
        status text NOT NULL DEFAULT 'DRAFT' CHECK (status IN ('DRAFT', 'PUBLISHED', 'DEPRECATED')),
        tags text[] NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz
      )`);
    await db.query(`CREATE INDEX catalog_models_listed ON catalog_models (published_at DESC, id DESC) WHERE status <> 'DRAFT'`);
    await db.query(`CREATE INDEX catalog_models_vendor ON catalog_models (vendor_id)`);
    await db.query(`CREATE INDEX catalog_models_tags ON catalog_models USING gin (tags)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE catalog_models`);
  }
}
