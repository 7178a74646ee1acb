import type { ServerConfig } from './config';
import { openDatabase, type Database } from './db/database';
import { lockDataDir } from './db/data-dir-lock';
import { seedDemoData } from './db/seed';
import { seedDemoRound } from './modules/datasets/seed-round';
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
    database = await openDatabase(config.database);
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
    if (config.seedDemo && (await seedDemoData(database.dataSource))) {
      log.info('seeded demo vendors and catalog models into the empty database');
    }
    if (config.seedDemo) {
      const round = await seedDemoRound(database.dataSource, config);
      if (round) log.info({ round }, 'built and opened dataset round 1 from the S&P 500 history');
    }
    return database;
  } catch (error) {
    await database.close();
    throw error;
  }
}
