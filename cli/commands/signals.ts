import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../global-options';
import signalsListCommand from './signals/list';
import signalsPushCommand from './signals/push';

const signalsCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'signals',
  describe: "Read your models' signals (with an admin key: everyone's), or upload predictions made elsewhere",
  builder: (yargs) =>
    yargs
      .command([signalsListCommand, signalsPushCommand] as CommandModule<GlobalArgs, GlobalArgs>[])
      .demandCommand(1, 'choose a signals command: list or push')
      .example('$0 signals list --symbol SPX', 'The newest signals for one symbol')
      .example('$0 signals push predictions.csv --model acme/offline-ridge', 'Upload BYOC predictions'),
  handler: () => undefined,
};

export default signalsCommand;
