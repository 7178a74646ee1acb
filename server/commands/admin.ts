import type { Argv } from 'yargs';
import { runOperatorAction } from '../operator/run-action';
import { createAdminKey } from '../operator/actions/identity';
import { withConfig } from './with-config';

/** `mp-server admin create-key`: the operator's own (admin) keys. */
export function adminCommand(yargs: Argv): Argv {
  return yargs
    .command(
      'create-key',
      'Create an admin API key and print it (once)',
      (args) =>
        args.option('name', { type: 'string', default: 'operator', describe: 'a label for the key' }).option('json', { type: 'boolean', default: false }),
      (args) =>
        withConfig(async (config, log) => {
          const created = await runOperatorAction(config, log, createAdminKey, { name: args.name });
          if (args.json) return void process.stdout.write(`${JSON.stringify(created)}\n`);
          process.stdout.write(`Admin API key (shown only now): ${created.apiKey}\n  id: ${created.apiKeyId}\n`);
        }),
    )
    .demandCommand(1, 'name an action: create-key');
}
