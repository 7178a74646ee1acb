import type { z } from 'zod';
import type { ServerConfig } from '../config';
import type { Logger } from '../logger';
import type { Database } from '../db/database';
import { DataDirLockedError, lockDataDir } from '../db/data-dir-lock';
import { registered, type Jsonified, type OperatorAction } from './action';
import { operatorSocketPath, SocketPathTooLongError } from './socket-path';
import { sendToRunningServer } from './socket-client';

/** How long a command waits on a data directory held by a server still starting (migrating, seeding) or by another command. */
const BUSY_WAIT_MS = 60_000;

/**
 * Run an operator command wherever the database is: in the embedded server running on
 * MP_DATA_DIR (over its operator socket), or else here, on the database opened directly
 * (the embedded one when no server runs, PostgreSQL always). The result is the same JSON either way.
 */
export async function runOperatorAction<Args extends z.ZodType, Result>(
  config: ServerConfig,
  log: Logger,
  action: OperatorAction<Args, Result>,
  args: z.input<Args>,
): Promise<Jsonified<Result>> {
  const socket = config.database.kind === 'embedded' ? socketPathOrNull(config, log) : null;
  const deadline = Date.now() + BUSY_WAIT_MS;
  for (let attempt = 0; ; attempt++) {
    if (socket) {
      const delivered = await sendToRunningServer(socket, action.name, args);
      if (delivered.reached) return delivered.result as Jsonified<Result>;
    }
    try {
      return await runHere(config, log, action, args);
    } catch (error) {
      if (!(error instanceof DataDirLockedError) || !socket || Date.now() >= deadline) throw error;
      if (attempt === 0) process.stderr.write('mp-server: the data directory is busy (its server is starting, or another command runs); waiting\n');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

async function runHere<Args extends z.ZodType, Result>(
  config: ServerConfig,
  log: Logger,
  action: OperatorAction<Args, Result>,
  args: z.input<Args>,
): Promise<Jsonified<Result>> {
  // The database code loads only here: a command the running server carries out needs none of it.
  const { openForServing } = require('../bootstrap') as typeof import('../bootstrap');
  const database = action.database === 'as-is' ? await openAsIs(config) : await openForServing(config, log);
  try {
    const result = await registered(action).invoke({ config, database, log }, args);
    // The same shape the socket gives: dates as ISO strings.
    return JSON.parse(JSON.stringify(result)) as Jsonified<Result>;
  } finally {
    await database.close();
  }
}

/** The database without the embedded auto-migration and demo data (for `migrate`). */
async function openAsIs(config: ServerConfig): Promise<Database> {
  const unlock = config.database.kind === 'embedded' ? await lockDataDir(config.dataDir) : undefined;
  try {
    const { openDatabase } = require('../db/database') as typeof import('../db/database');
    const { entities } = require('../modules') as typeof import('../modules');
    const database = await openDatabase({ ...config.database, entities });
    const close = database.close.bind(database);
    database.close = async () => {
      await close();
      await unlock?.();
    };
    return database;
  } catch (error) {
    await unlock?.();
    throw error;
  }
}

function socketPathOrNull(config: ServerConfig, log: Logger): string | null {
  try {
    return operatorSocketPath(config);
  } catch (error) {
    if (!(error instanceof SocketPathTooLongError)) throw error;
    log.debug(error.message);
    return null;
  }
}
