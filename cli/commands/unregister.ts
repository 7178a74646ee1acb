import type { CommandModule } from 'yargs';
import { execute } from '../execute';
import type { GlobalArgs } from '../global-options';
import type { Io } from '../io';

export interface UnregisterArgs extends GlobalArgs {
  model: string;
}

export async function run(args: UnregisterArgs, io: Io): Promise<void> {
  const { resolveSession, connect } = require('../session') as typeof import('../session');
  const { UnregisterModelDocument } = require('../../generated/cli-operations') as typeof import('../../generated/cli-operations');
  const { Output } = require('../output') as typeof import('../output');
  const out = new Output(io, args);
  const client = connect(resolveSession(args, io.env), args, io, 'required');
  const ref = args.model.trim();
  const { unregisterModel: model } = await client.request(UnregisterModelDocument, ref.startsWith('mdl_') ? { id: ref } : { slug: ref });
  if (out.json) {
    out.data(model);
    return;
  }
  out.success(`Hid ${model.slug} from the catalog; \`mp register --name "${model.name}" --deployment <id>\` shows it again`);
}

const unregisterCommand: CommandModule<GlobalArgs, UnregisterArgs> = {
  command: 'unregister <model>',
  describe: 'Hide one of your models from the catalog (by slug or id)',
  builder: (yargs) =>
    yargs
      .positional('model', { type: 'string', demandOption: true, describe: 'Its slug (<handle>/<name>) or id (mdl_...)' })
      .example('$0 unregister acme/my-signal-model', 'Hide it; its signals and scores stay'),
  handler: (args) => execute(args, run),
};

export default unregisterCommand;
