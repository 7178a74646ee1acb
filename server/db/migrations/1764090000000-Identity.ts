import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Identity1764090000000 implements MigrationInterface {
  name = 'Identity1764090000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE vendors (
        id text PRIMARY KEY,
        handle text NOT NULL UNIQUE CHECK (handle ~ '^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$'),
        display_name text NOT NULL,
        email text NOT NULL,
        status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'SUSPENDED')),
        suspended_reason text,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`
      CREATE TABLE api_keys (
        id text PRIMARY KEY,
        lookup text NOT NULL UNIQUE,
        vendor_id text REFERENCES vendors(id) ON DELETE CASCADE,
        role text NOT NULL CHECK (role IN ('VENDOR', 'ADMIN')),
        name text NOT NULL,
        secret_hash text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz,
        last_used_at timestamptz,
        revoked_at timestamptz,
        CHECK ((role = 'ADMIN') = (vendor_id IS NULL))
      )`);
    await db.query(`CREATE INDEX api_keys_vendor_created ON api_keys (vendor_id, created_at DESC, id DESC)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE api_keys`);
    await db.query(`DROP TABLE vendors`);
  }
}
