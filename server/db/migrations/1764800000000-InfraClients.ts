import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Clients of the trading infrastructure that may introspect deployment tokens (hashes only; server/modules/deployments). */
export class InfraClients1764800000000 implements MigrationInterface {
  name = 'InfraClients1764800000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE infra_clients (
        id text PRIMARY KEY,
        name text NOT NULL,
        lookup text NOT NULL UNIQUE,
        secret_hash text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        revoked_at timestamptz
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE infra_clients`);
  }
}
