import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../global-options';
import deployCreateCommand from './deploy/create';
import deployListCommand from './deploy/list';
import deployStatusCommand from './deploy/status';
import deployStopCommand from './deploy/stop';
import deployTokenCommand from './deploy/token';

/** `mp deploy [flags]` deploys (its default command); `mp deploy list|status|stop|token` manage deployments. */
const deployCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'deploy',
  describe: 'Deploy a model as an inference endpoint; list, inspect and stop your deployments, rotate their tokens',
  builder: (yargs) =>
    yargs.command([deployCreateCommand, deployListCommand, deployStatusCommand, deployStopCommand, deployTokenCommand] as CommandModule<
      GlobalArgs,
      GlobalArgs
    >[]),
  handler: () => undefined,
};

export default deployCommand;
