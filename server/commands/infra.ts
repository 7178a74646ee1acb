import type { Argv } from 'yargs';
import { runOperatorAction } from '../operator/run-action';
import { createInfraClient, listInfraClients, revokeInfraClient } from '../operator/actions/infra';
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
        withConfig(async (config, log) => {
          const created = await runOperatorAction(config, log, createInfraClient, { name: args.name });
          if (args.json) return void process.stdout.write(`${JSON.stringify(created)}\n`);
          process.stdout.write(
            `Created infrastructure client "${created.name}"\n  client id:     ${created.clientId}\n  client secret: ${created.clientSecret}\n\n` +
              'The secret is shown only now. The client authenticates to POST /oauth/introspect with HTTP Basic\n' +
              '(client id as user name, secret as password) or with `Authorization: Bearer <secret>`.\n',
          );
        }),
    )
    .command(
      'list-clients',
      'List the infrastructure clients, revoked ones included',
      (args) => args.option('json', { type: 'boolean', default: false }),
      (args) =>
        withConfig(async (config, log) => {
          const rows = await runOperatorAction(config, log, listInfraClients, {});
          if (args.json) return void process.stdout.write(`${JSON.stringify(rows)}\n`);
          for (const row of rows) {
            const state = row.revokedAt ? `revoked ${row.revokedAt}` : `last used ${row.lastUsedAt ?? 'never'}`;
            process.stdout.write(`${row.id}  ${row.name.padEnd(24)}  created ${row.createdAt}  ${state}\n`);
          }
          if (rows.length === 0) process.stdout.write('No infrastructure clients yet: mp-server infra create-client --name NAME\n');
        }),
    )
    .command(
      'revoke-client <id>',
      'Revoke an infrastructure client: its secret stops working on every server at once',
      (args) =>
        args.positional('id', { type: 'string', demandOption: true, describe: 'the client id (icl_...)' }).option('json', { type: 'boolean', default: false }),
      (args) =>
        withConfig(async (config, log) => {
          const row = await runOperatorAction(config, log, revokeInfraClient, { id: args.id });
          if (args.json) return void process.stdout.write(`${JSON.stringify(row)}\n`);
          process.stdout.write(`Revoked infrastructure client ${row.id} "${row.name}" (at ${row.revokedAt})\n`);
        }),
    )
    .demandCommand(1, 'name an action: create-client, list-clients, revoke-client');
}
