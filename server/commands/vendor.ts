import type { Argv } from 'yargs';
import { runOperatorAction } from '../operator/run-action';
import { createVendor, createVendorKey } from '../operator/actions/identity';
import { withConfig } from './with-config';

/** `mp-server vendor create|create-key`: vendors and their keys, from the operator's terminal. */
export function vendorCommand(yargs: Argv): Argv {
  return yargs
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
      (args) =>
        withConfig(async (config, log) => {
          const created = await runOperatorAction(config, log, createVendor, { name: args.name, email: args.email, handle: args.handle });
          if (args.json) {
            return void process.stdout.write(
              `${JSON.stringify({ vendorId: created.vendorId, handle: created.handle, apiKeyId: created.apiKeyId, apiKey: created.apiKey })}\n`,
            );
          }
          process.stdout.write(
            `Created vendor ${created.displayName} (${created.handle})\n` +
              `  vendor id: ${created.vendorId}\n  API key:   ${created.apiKey}\n\n` +
              'The key is shown only now: hand it to the vendor, who runs `mp login`.\n',
          );
        }),
    )
    .command(
      'create-key',
      "Create another API key for an existing vendor and print it (once), e.g. for the demo vendor's first try",
      (args) =>
        args
          .option('handle', { type: 'string', demandOption: true, describe: "the vendor's handle, e.g. demo" })
          .option('name', { type: 'string', default: 'issued by the operator', describe: 'a label for the key' })
          .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' })
          .example('$0 vendor create-key --handle demo', "prints a key of the demo vendor's"),
      (args) =>
        withConfig(async (config, log) => {
          const created = await runOperatorAction(config, log, createVendorKey, { handle: args.handle, name: args.name });
          if (args.json) {
            return void process.stdout.write(
              `${JSON.stringify({ vendorId: created.vendorId, handle: created.handle, apiKeyId: created.apiKeyId, apiKey: created.apiKey })}\n`,
            );
          }
          process.stdout.write(`API key for ${created.displayName} (${created.handle}), shown only now: ${created.apiKey}\n  id: ${created.apiKeyId}\n`);
        }),
    )
    .demandCommand(1, 'name an action: create, create-key');
}
