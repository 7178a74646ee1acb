import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../global-options';
import dataInfoCommand from './data/info';
import dataListCommand from './data/list';
import dataPullCommand from './data/pull';

const dataCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'data',
  describe: 'Dataset rounds: list them, inspect one, download its files',
  builder: (yargs) =>
    yargs
      .command([dataListCommand, dataInfoCommand, dataPullCommand] as CommandModule<GlobalArgs, GlobalArgs>[])
      .demandCommand(1, 'choose a data command: list, info or pull')
      .example('$0 data info', 'The current round: dates, features, files')
      .example('$0 data pull --dir ./data', 'Download and verify its files'),
  handler: () => undefined,
};

export default dataCommand;
