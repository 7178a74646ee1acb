#!/usr/bin/env node
import 'reflect-metadata';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { ServerConfig } from './config';
import { registerSecret, type Logger } from './logger';
import { configuredSecrets, secretsInConfig } from './configured-secrets';
import { openForServing } from './bootstrap';
import { openDatabase } from './db/database';
import { lockDataDir } from './db/data-dir-lock';
import { createApp } from './app';
import { roundsCommand } from './commands/rounds';
import { infraCommand } from './commands/infra';
import { withConfig } from './commands/with-config';
import { IdentityService } from './modules/identity/identity.service';
import { KeyValidator } from './modules/identity/key-validator';
import { packageVersion } from './paths';
import { entities } from './modules';

/** `mp-server`: the operator's command. `start` serves; the others work on the database directly. */
async function main(): Promise<void> {
  await yargs(hideBin(process.argv))
    .scriptName('mp-server')
    .usage('$0 <command>\n\nThe marketplace API server and its operator commands. Configuration comes from the environment (see README).')
    .command('start', 'Serve the GraphQL API, GraphiQL and health endpoints', {}, () => withConfig(start, 'stdout'))
    .command('migrate', 'Apply pending database migrations', {}, () => withConfig(migrate))
    .command('vendor <action>', 'Create vendors (operator bootstrap)', (cmd) =>
      cmd
        .command(
          'create',
          'Create a vendor and print its first API key (once)',
          (args) =>
            args
              .option('name', { type: 'string', demandOption: true, describe: 'display name, e.g. "Acme Quant Lab"' })
              .option('email', { type: 'string', demandOption: true, describe: 'contact e-mail' })
              .option('handle', { type: 'string', describe: 'unique handle (default: derived from the name)' })
              .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' })
              .example('$0 vendor create --name "Acme Quant Lab" --email ops@acme.example', 'prints the vendor id and its first key'),
          (args) => withConfig((config, log) => createVendor(config, log, args)),
        )
        .demandCommand(1),
    )
    .command('rounds <action>', 'Dataset rounds: create, resolve, open, close, list', (cmd) => roundsCommand(cmd))
    .command('admin <action>', 'Operator (admin) keys', (cmd) =>
      cmd
        .command(
          'create-key',
          'Create an admin API key and print it (once)',
          (args) =>
            args.option('name', { type: 'string', default: 'operator', describe: 'a label for the key' }).option('json', { type: 'boolean', default: false }),
          (args) => withConfig((config, log) => createAdminKey(config, log, args)),
        )
        .demandCommand(1),
    )
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
  for (const name of SECRET_VARIABLES) delete process.env[name];
  for (const secret of secretsInConfig(config)) registerSecret(secret);
  const database = await openForServing(config, log);
  // The generated signing secret, once the data directory is ours (openForServing locks it).
  for (const secret of await configuredSecrets(config)) registerSecret(secret);
  const app = await createApp(config, database, log);
  const url = await app.listen();
  log.info({ url, database: database.kind, dataDir: database.kind === 'embedded' ? config.dataDir : undefined }, 'marketplace API listening');
  process.stdout.write(
    `\nMarketplace API ready on ${database.kind === 'embedded' ? `the embedded database (${config.dataDir})` : 'PostgreSQL'}\n  GraphQL + GraphiQL: ${url}/graphql\n  Health: ${url}/healthz  ${url}/readyz  ${url}/metrics\n\n`,
  );

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
    await app.close();
    await database.close();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

async function migrate(config: ServerConfig, log: Logger): Promise<void> {
  const unlock = config.database.kind === 'embedded' ? await lockDataDir(config.dataDir) : undefined;
  const database = await openDatabase({ ...config.database, entities });
  try {
    const ran = await database.migrate();
    log.info({ migrations: ran }, 'migrations applied');
    process.stdout.write(ran.length ? `Applied ${ran.length} migration(s): ${ran.join(', ')}\n` : 'Database is up to date.\n');
  } finally {
    await database.close();
    await unlock?.();
  }
}

async function withIdentity<T>(config: ServerConfig, log: Logger, work: (identity: IdentityService) => Promise<T>): Promise<T> {
  const database = await openForServing(config, log);
  try {
    const keys = new KeyValidator(database.dataSource, database.notifications, log, 0, config.authFailures);
    return await work(new IdentityService(database.dataSource, keys));
  } finally {
    await database.close();
  }
}

async function createVendor(config: ServerConfig, log: Logger, args: { name: string; email: string; handle?: string; json: boolean }): Promise<void> {
  const created = await withIdentity(config, log, (identity) => identity.createVendor({ displayName: args.name, email: args.email, handle: args.handle }));
  if (args.json) {
    process.stdout.write(
      `${JSON.stringify({ vendorId: created.vendor.id, handle: created.vendor.handle, apiKeyId: created.apiKey.id, apiKey: created.secret })}\n`,
    );
    return;
  }
  process.stdout.write(
    `Created vendor ${created.vendor.displayName} (${created.vendor.handle})\n` +
      `  vendor id: ${created.vendor.id}\n  API key:   ${created.secret}\n\n` +
      `The key is shown only now: hand it to the vendor, who runs \`mp login\`.\n`,
  );
}

async function createAdminKey(config: ServerConfig, log: Logger, args: { name: string; json: boolean }): Promise<void> {
  const created = await withIdentity(config, log, (identity) => identity.createAdminKey(args.name));
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ apiKeyId: created.apiKey.id, apiKey: created.secret })}\n`);
    return;
  }
  process.stdout.write(`Admin API key (shown only now): ${created.secret}\n  id: ${created.apiKey.id}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`mp-server: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
