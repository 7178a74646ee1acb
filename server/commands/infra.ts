import type { Argv } from 'yargs';
import type { ServerConfig } from '../config';
import type { Logger } from '../logger';
import { openForServing } from '../bootstrap';
import { InfraClients } from '../modules/deployments/infra-clients';
import type { InfraClientEntity } from '../modules/deployments/infra-client.entity';
import { withConfig } from './with-config';

/** `mp-server infra create-client|list-clients|revoke-client`: who in the trading infrastructure may introspect tokens. */
export function infraCommand(yargs: Argv): Argv {
  return yargs
    .command(
      'create-client',
      'Create an infrastructure client for POST /oauth/introspect and print its secret (once)',
      (args) =>
        args
          .option('name', { type: 'string', demandOption: true, describe: 'what the client is, e.g. "execution gateway"' })
          .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' })
          .example('$0 infra create-client --name "execution gateway"', 'prints the client id and its secret'),
      (args) =>
        withConfig((config, log) =>
          withInfraClients(config, log, async (clients) => {
            const { client, secret } = await clients.create(args.name);
            if (args.json) return void process.stdout.write(`${JSON.stringify({ clientId: client.id, name: client.name, clientSecret: secret })}\n`);
            process.stdout.write(
              `Created infrastructure client "${client.name}"\n  client id:     ${client.id}\n  client secret: ${secret}\n\n` +
                'The secret is shown only now. The client authenticates to POST /oauth/introspect with HTTP Basic\n' +
                '(client id as user name, secret as password) or with `Authorization: Bearer <secret>`.\n',
            );
          }),
        ),
    )
    .command(
      'list-clients',
      'List the infrastructure clients, revoked ones included',
      (args) => args.option('json', { type: 'boolean', default: false }),
      (args) =>
        withConfig((config, log) =>
          withInfraClients(config, log, async (clients) => {
            const rows = (await clients.list()).map(describe);
            if (args.json) return void process.stdout.write(`${JSON.stringify(rows)}\n`);
            for (const row of rows) {
              const state = row.revokedAt ? `revoked ${row.revokedAt}` : `last used ${row.lastUsedAt ?? 'never'}`;
              process.stdout.write(`${row.id}  ${row.name.padEnd(24)}  created ${row.createdAt}  ${state}\n`);
            }
            if (rows.length === 0) process.stdout.write('No infrastructure clients yet: mp-server infra create-client --name NAME\n');
          }),
        ),
    )
    .command(
      'revoke-client <id>',
      'Revoke an infrastructure client: its secret stops working on every server at once',
      (args) =>
        args.positional('id', { type: 'string', demandOption: true, describe: 'the client id (icl_...)' }).option('json', { type: 'boolean', default: false }),
      (args) =>
        withConfig((config, log) =>
          withInfraClients(config, log, async (clients) => {
            const row = describe(await clients.revoke(args.id));
            if (args.json) return void process.stdout.write(`${JSON.stringify(row)}\n`);
            process.stdout.write(`Revoked infrastructure client ${row.id} "${row.name}" (at ${row.revokedAt})\n`);
          }),
        ),
    )
    .demandCommand(1, 'name an action: create-client, list-clients, revoke-client');
}

/** What lists show of a client: never its hash. */
function describe(client: InfraClientEntity): { id: string; name: string; createdAt: string; lastUsedAt: string | null; revokedAt: string | null } {
  return {
    id: client.id,
    name: client.name,
    createdAt: client.createdAt.toISOString(),
    lastUsedAt: client.lastUsedAt?.toISOString() ?? null,
    revokedAt: client.revokedAt?.toISOString() ?? null,
  };
}

async function withInfraClients(config: ServerConfig, log: Logger, work: (clients: InfraClients) => Promise<void>): Promise<void> {
  const database = await openForServing(config, log);
  // Listening, so that a revocation returns once every running server has heard it.
  const clients = new InfraClients(database.dataSource, database.notifications, log, 0, config.authFailures);
  try {
    await clients.start();
    await work(clients);
  } finally {
    await clients.stop();
    await database.close();
  }
}
