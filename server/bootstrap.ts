import type { ServerConfig } from './config';
import { openDatabase, type Database } from './db/database';
import { lockDataDir } from './db/data-dir-lock';
import { entities, modules } from './modules';
import type { Logger } from './logger';

export class PendingMigrationsError extends Error {}

/**
 * Open the configured database for a command. The embedded database migrates itself
 * (and gets demo data when empty); PostgreSQL must be migrated by the operator first.
 */
export async function openForServing(config: ServerConfig, log: Logger, options: { migrate: 'auto' | 'never' } = { migrate: 'auto' }): Promise<Database> {
  const unlock = config.database.kind === 'embedded' ? await lockDataDir(config.dataDir) : undefined;
  let database: Database;
  try {
    database = await openDatabase({ ...config.database, entities });
  } catch (error) {
    await unlock?.();
    throw error;
  }
  const close = database.close.bind(database);
  database.close = async () => {
    await close();
    await unlock?.();
  };
  try {
    const pending = await database.pendingMigrations();
    if (pending.length > 0) {
      if (database.kind === 'postgres' || options.migrate === 'never') {
        throw new PendingMigrationsError(
          `the database has ${pending.length} pending migration(s) (${pending.join(', ')}): run \`mp-server migrate\` (or \`npm run migrate\`) first`,
        );
      }
      const ran = await database.migrate();
      log.info({ migrations: ran }, `applied ${ran.length} migration(s) to the embedded database`);
    }
    if (config.seedDemo) await seedModules(database, config, log);
    return database;
  } catch (error) {
    await database.close();
    throw error;
  }
}

/** Each module's demo data, on a database that has none yet. */
export async function seedModules(database: Database, config: ServerConfig, log?: Logger): Promise<void> {
  for (const module of modules) {
    const added = await module.seed?.(database, config);
    if (added) log?.info({ module: module.name }, `seeded ${added}`);
  }
}
