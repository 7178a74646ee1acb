import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../global-options';
import trainArtifactsCommand from './train/artifacts';
import trainLogsCommand from './train/logs';
import trainStartCommand from './train/start';
import trainStatusCommand from './train/status';
import trainStopCommand from './train/stop';
import trainTemplatesCommand from './train/templates';

const trainCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'train',
  describe: 'Managed training runs: start, watch, inspect and stop them, fetch their artifacts',
  builder: (yargs) =>
    yargs
      .command([trainStartCommand, trainStatusCommand, trainLogsCommand, trainStopCommand, trainArtifactsCommand, trainTemplatesCommand] as CommandModule<
        GlobalArgs,
        GlobalArgs
      >[])
      .demandCommand(1, 'choose a train command: start, status, logs, stop, artifacts or templates')
      .example('$0 train start --task signal --hp epochs=20 --follow', 'Train on the current round and watch it')
      .example('$0 train status', 'Your runs'),
  handler: () => undefined,
};

export default trainCommand;
