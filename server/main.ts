#!/usr/bin/env node
import 'reflect-metadata';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { ServerConfig } from './config';
import { registerSecret, type Logger } from './logger';
import { configuredSecrets, secretsInConfig } from './configured-secrets';
import { startBanner } from './start-banner';
import { adminCommand } from './commands/admin';
import { infraCommand } from './commands/infra';
import { runMigrate } from './commands/migrate';
import { roundsCommand } from './commands/rounds';
import { vendorCommand } from './commands/vendor';
import { withConfig } from './commands/with-config';
import { packageVersion } from './paths';

/**
 * `mp-server`: the operator's command. `start` serves; the others run on the embedded server
 * running on MP_DATA_DIR (through its operator socket), or else on the database directly.
 */
async function main(): Promise<void> {
  await yargs(hideBin(process.argv))
    .scriptName('mp-server')
    .usage('$0 <command>\n\nThe marketplace API server and its operator commands. Configuration comes from the environment (see README).')
    .command('start', 'Serve the GraphQL API, GraphiQL and health endpoints', {}, () => withConfig(start, 'stdout'))
    .command('migrate', 'Apply pending database migrations', {}, () => runMigrate())
    .command('vendor <action>', 'Vendors and their API keys (operator bootstrap)', (cmd) => vendorCommand(cmd))
    .command('rounds <action>', 'Dataset rounds: create, resolve, open, close, list', (cmd) => roundsCommand(cmd))
    .command('admin <action>', 'Operator (admin) keys', (cmd) => adminCommand(cmd))
    .command('infra <action>', 'Infrastructure clients that may introspect deployment tokens (POST /oauth/introspect)', (cmd) => infraCommand(cmd))
    .demandCommand(1, 'name a command: start, migrate, vendor create, admin create-key, infra create-client')
    .strict()
    .recommendCommands()
    .example('$0 start', 'serve on HOST:PORT (default 127.0.0.1:4000) with the embedded database')
    .example('DATABASE_URL=postgres://... $0 migrate', 'migrate a PostgreSQL database')
    .version(packageVersion())
    .help()
    .fail((message, error) => {
      if (error) throw error;
      process.stderr.write(`mp-server: ${message}\nRun mp-server --help for usage.\n`);
      process.exit(2);
    })
    .parseAsync();
}

/**
 * Read once by loadConfig, then removed from this process's environment, so that nothing it
 * spawns later inherits them. /proc/<pid>/environ still shows the environment the process was
 * started with: the kernel keeps that copy, whatever process.env says.
 */
const SECRET_VARIABLES = ['MP_SIGNING_SECRET', 'RUNPOD_API_KEY', 'DATABASE_URL'];

async function start(config: ServerConfig, log: Logger): Promise<void> {
  // Loaded here, not at the top: the operator commands (which a running server may carry out) need none of it.
  const { openForServing } = require('./bootstrap') as typeof import('./bootstrap');
  const { createApp } = require('./app') as typeof import('./app');
  const { embeddedDatabaseIsNew, firstStartAccess } = require('./first-start') as typeof import('./first-start');
  const { openOperatorSocket } = require('./operator/open-socket') as typeof import('./operator/open-socket');
  const { operatorActions } = require('./operator/actions') as typeof import('./operator/actions');
  for (const name of SECRET_VARIABLES) delete process.env[name];
  for (const secret of secretsInConfig(config)) registerSecret(secret);
  const databaseIsNew = embeddedDatabaseIsNew(config);
  const database = await openForServing(config, log);
  // The generated signing secret, once the data directory is ours (openForServing locks it).
  for (const secret of await configuredSecrets(config)) registerSecret(secret);
  const app = await createApp(config, database, log);
  const url = await app.listen();
  const operator = database.kind === 'embedded' ? await openOperatorSocket(config, { config, database, log }, operatorActions) : null;
  const firstStart = databaseIsNew ? await firstStartAccess({ config, database, log }, process.stdout.isTTY === true) : null;
  if (firstStart?.kind === 'key') registerSecret(firstStart.apiKey);
  log.info({ url, database: database.kind, dataDir: database.kind === 'embedded' ? config.dataDir : undefined }, 'marketplace API listening');
  process.stdout.write(startBanner({ url, embeddedIn: database.kind === 'embedded' ? config.dataDir : undefined, firstStart }));

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const hardStop = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + 1500);
    hardStop.unref();
    await operator?.close();
    await app.close();
    await database.close();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`mp-server: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
