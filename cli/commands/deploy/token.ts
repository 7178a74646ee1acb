import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../../global-options';
import deployTokenRotateCommand from './token-rotate';

const deployTokenCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'token',
  describe: "A deployment's token (sit_...): rotate it",
  builder: (yargs) =>
    yargs
      .command([deployTokenRotateCommand] as CommandModule<GlobalArgs, GlobalArgs>[])
      .demandCommand(1, 'choose a token command: rotate')
      .example('$0 deploy token rotate dep_2Xf9... --show-token', 'A new token, printed once'),
  handler: () => undefined,
};

export default deployTokenCommand;
