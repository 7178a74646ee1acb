import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../global-options';
import catalogListCommand from './catalog/list';
import catalogShowCommand from './catalog/show';

const catalogCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'catalog',
  aliases: ['models'],
  describe: 'Browse the public catalog of models',
  builder: (yargs) =>
    yargs
      .command([catalogListCommand, catalogShowCommand] as CommandModule<GlobalArgs, GlobalArgs>[])
      .demandCommand(1, 'choose a catalog command: list or show')
      .example('$0 catalog list --task signal', 'Published signal models')
      .example('$0 catalog show demo/momentum-v1', 'One model'),
  handler: () => undefined,
};

export default catalogCommand;
