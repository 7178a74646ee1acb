import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../global-options';
import signalsListCommand from './signals/list';

const signalsCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'signals',
  describe: "Read the signals your deployments wrote (with an admin key: everyone's)",
  builder: (yargs) =>
    yargs
      .command([signalsListCommand] as CommandModule<GlobalArgs, GlobalArgs>[])
      .demandCommand(1, 'choose a signals command: list')
      .example('$0 signals list --symbol SPX', 'The newest signals for one symbol'),
  handler: () => undefined,
};

export default signalsCommand;
