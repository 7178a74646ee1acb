import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Browser sessions (the web console's sign-in): an API key exchanged for a cookie, stored as the token's SHA-256. */
export class Sessions1765600000000 implements MigrationInterface {
  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE sessions (
        id text PRIMARY KEY,
        token_hash text NOT NULL UNIQUE,
        api_key_id text NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
        vendor_id text REFERENCES vendors(id) ON DELETE CASCADE,
        user_agent text,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz
      )`);
    await db.query(`CREATE INDEX sessions_vendor_created ON sessions (vendor_id, created_at DESC, id DESC)`);
    await db.query(`CREATE INDEX sessions_api_key ON sessions (api_key_id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE sessions`);
  }
}
