import { ConfigError, loadConfig, type ServerConfig } from '../config';
import { createLogger, registerSecret, type Logger } from '../logger';
import { terminalDestination } from '../log-destination';
import { secretsInConfig } from '../configured-secrets';
import { DataDirLockedError } from '../db/data-dir-lock';
import { DomainError } from '../domain-error';
import { RoundInputError } from '../modules/datasets/round-builder/errors';
import { RunningServerError } from '../operator/wire-error';

/** Operator commands print results on stdout; their logs go to stderr so `--json` output stays clean. */
export async function withConfig(run: (config: ServerConfig, log: Logger) => Promise<void>, logTo: 'stdout' | 'stderr' = 'stderr'): Promise<void> {
  let config: ServerConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) return exit(2, error.message);
    throw error;
  }
  const log = createLogger(config.logLevel, terminalDestination(logTo === 'stderr' ? 2 : 1));
  for (const secret of secretsInConfig(config)) registerSecret(secret);
  try {
    await run(config, log);
  } catch (error) {
    if (error instanceof DataDirLockedError || error instanceof RunningServerError) return exit(1, error.message);
    // Loaded only now: a command the running server carries out never loads the database code.
    const { DatabaseUnreachableError } = require('../db/database') as typeof import('../db/database');
    const { PendingMigrationsError } = require('../bootstrap') as typeof import('../bootstrap');
    if (error instanceof DatabaseUnreachableError || error instanceof PendingMigrationsError) return exit(1, error.message);
    if (error instanceof RoundInputError) return exit(5, error.message);
    if (error instanceof DomainError) return exit(error.code === 'NOT_FOUND' ? 4 : 5, error.message);
    log.fatal({ err: error }, 'mp-server failed');
    exit(1, `${(error as Error).message} (see the log above)`);
  }
}

export function exit(code: number, message: string): void {
  process.stderr.write(`mp-server: ${message}\n`);
  process.exit(code);
}
