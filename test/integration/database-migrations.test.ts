import 'reflect-metadata';
import assert from 'node:assert/strict';
import type { DataSource } from 'typeorm';
import { openDatabase, type Database } from '../../server/db/database';
import { entities } from '../../server/modules';
import { createPostgresDatabase, usingPostgres } from '../helpers/server';

/**
 * The migrations are the schema; the entities must describe the same columns. TypeORM's
 * schema builder compares the two and answers with the SQL that would make the database
 * match the entities: after migrating, that SQL must be empty.
 *
 * One exception, by design: table-level objects that only the migrations declare (foreign
 * keys, CHECK constraints, UNIQUE constraints over several columns, plain indexes). The
 * entities model no relations, checks or indexes, so the schema builder proposes dropping
 * every one of them; those proposals are set aside after confirming in the catalog that
 * the object really is of that kind. Everything at column level (type, length, precision,
 * nullability, default, single-column UNIQUE, primary key) must match exactly.
 */

interface Proposal {
  query: string;
  /** Why it is set aside, or undefined when it is a real difference. */
  migrationOwned?: string;
}

async function pendingSchemaChanges(dataSource: DataSource): Promise<Proposal[]> {
  const sqlInMemory = await dataSource.driver.createSchemaBuilder().log();
  const proposals: Proposal[] = [];
  for (const { query } of sqlInMemory.upQueries) {
    proposals.push({ query, migrationOwned: await migrationOwnedObject(dataSource, query) });
  }
  return proposals;
}

/** Describes the object `query` drops when it is a foreign key, check, multi-column unique or plain index. */
async function migrationOwnedObject(dataSource: DataSource, query: string): Promise<string | undefined> {
  const constraint = /^ALTER TABLE "(\w+)" DROP CONSTRAINT "(\w+)"$/.exec(query);
  if (constraint) {
    const [row] = await dataSource.query(
      `SELECT contype, cardinality(conkey) AS columns FROM pg_constraint
        WHERE conname = $2 AND conrelid = to_regclass(quote_ident($1))`,
      [constraint[1], constraint[2]],
    );
    if (row?.contype === 'f') return 'foreign key';
    if (row?.contype === 'c') return 'check constraint';
    if (row?.contype === 'u' && Number(row.columns) > 1) return 'unique constraint over several columns';
    return undefined;
  }
  const index = /^DROP INDEX "public"\."(\w+)"$/.exec(query);
  if (index) {
    const [row] = await dataSource.query(
      `SELECT NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = i.indexrelid) AS plain
         FROM pg_index i WHERE i.indexrelid = to_regclass(quote_ident($1))`,
      [index[1]],
    );
    return row?.plain ? 'index' : undefined;
  }
  return undefined;
}

/** Columns, constraints and indexes of the public schema, as the catalog describes them. */
async function schemaSnapshot(dataSource: DataSource): Promise<Record<string, unknown[]>> {
  return {
    columns: await dataSource.query(
      `SELECT table_name, column_name, data_type, udt_name, character_maximum_length, numeric_precision, numeric_scale,
              is_nullable, column_default
         FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, column_name`,
    ),
    constraints: await dataSource.query(
      `SELECT conrelid::regclass::text AS table_name, conname, pg_get_constraintdef(oid) AS definition
         FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2`,
    ),
    indexes: await dataSource.query(`SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2`),
  };
}

/** What is left in the public schema besides TypeORM's own bookkeeping table. */
async function objectsBesidesMigrationsTable(dataSource: DataSource): Promise<string[]> {
  const rows: { name: string }[] = await dataSource.query(
    `SELECT relkind::text || ' ' || relname AS name FROM pg_class
      WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c')
        AND relname NOT IN ('migrations', 'migrations_id_seq')
     UNION ALL
     SELECT 'type ' || typname FROM pg_type
      WHERE typnamespace = 'public'::regnamespace AND typtype IN ('e', 'd', 'r', 'm')
     UNION ALL
     SELECT 'function ' || proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace
     ORDER BY 1`,
  );
  return rows.map((row) => row.name);
}

async function appliedMigrations(dataSource: DataSource): Promise<string[]> {
  const rows: { name: string }[] = await dataSource.query(`SELECT name FROM migrations ORDER BY id`);
  return rows.map((row) => row.name);
}

describe(`database migrations (${usingPostgres ? 'PostgreSQL' : 'embedded PGlite'})`, () => {
  let database: Database;
  let drop: () => Promise<void> = async () => undefined;

  before(async () => {
    if (usingPostgres) {
      const created = await createPostgresDatabase();
      drop = created.drop;
      database = await openDatabase({ kind: 'postgres', url: created.url, poolSize: 2, entities });
    } else {
      database = await openDatabase({ kind: 'embedded', dataDir: 'memory://', entities });
    }
    await database.migrate();
  });

  after(async () => {
    await database?.close();
    await drop();
  });

  it('leaves nothing for the schema builder to change: the entities describe the migrated columns exactly', async () => {
    const proposals = await pendingSchemaChanges(database.dataSource);
    const drift = proposals.filter((proposal) => !proposal.migrationOwned).map((proposal) => proposal.query);
    assert.ok(
      drift.length === 0,
      `the entities and the migrations disagree; to match the entities TypeORM would run:\n  ${drift.join(';\n  ')};\n` +
        'change the entity to match the migration, or add a migration that makes the schema match the entity',
    );
  });

  it('undoes every migration down to an empty schema and then runs them all again to the same schema', async () => {
    const dataSource = database.dataSource;
    const migrated = await schemaSnapshot(dataSource);
    const names = await appliedMigrations(dataSource);
    assert.equal(names.length, dataSource.migrations.length, 'every migration has run before undoing them');

    for (let undone = 1; undone <= names.length; undone++) {
      await dataSource.undoLastMigration({ transaction: 'each' });
      assert.deepEqual(await appliedMigrations(dataSource), names.slice(0, names.length - undone), `after undoing ${undone} migration(s)`);
    }
    assert.deepEqual(await objectsBesidesMigrationsTable(dataSource), [], 'the down migrations leave nothing behind');

    assert.deepEqual(await database.migrate(), names);
    assert.deepEqual(await database.pendingMigrations(), []);
    assert.deepEqual(await schemaSnapshot(dataSource), migrated, 'running the migrations again builds the same schema');
  });
});
