import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../global-options';
import keysCreateCommand from './keys/create';
import keysListCommand from './keys/list';
import keysRevokeCommand from './keys/revoke';

const keysCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'keys',
  describe: 'Create, list and revoke your API keys',
  builder: (yargs) =>
    yargs
      .command([keysCreateCommand, keysListCommand, keysRevokeCommand] as CommandModule<GlobalArgs, GlobalArgs>[])
      .demandCommand(1, 'choose a keys command: create, list or revoke')
      .example('$0 keys list', 'Your keys')
      .example('$0 keys create --name ci --expires 30d', 'A new key for CI'),
  handler: () => undefined,
};

export default keysCommand;
