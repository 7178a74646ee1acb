import type { CommandModule } from 'yargs';
import { execute } from '../execute';
import type { GlobalArgs } from '../global-options';
import type { Io } from '../io';

/** Removes the saved key (the non-secret URL stays). Not being logged in is not an error. */
export async function run(args: GlobalArgs, io: Io): Promise<void> {
  const { configFilePath, readConfigFile, writeConfigFile } = require('../config') as typeof import('../config');
  const { Output } = require('../output') as typeof import('../output');
  const out = new Output(io, args);
  const configFile = configFilePath(io.env);
  const config = readConfigFile(configFile);
  const hadKey = config.apiKey !== undefined;
  if (hadKey) {
    const { apiKey: _removed, ...rest } = config;
    writeConfigFile(configFile, rest);
  }

  if (out.json) {
    out.data({ loggedOut: hadKey, apiUrl: config.apiUrl ?? null, configFile });
  } else if (hadKey) {
    out.success(`Logged out of ${config.apiUrl ?? 'the marketplace'}: the key was removed from ${configFile}`);
  } else {
    out.line(`Not logged in: no key saved in ${configFile}`);
  }
  if (io.env.MP_API_KEY) out.warn('MP_API_KEY is still set in your environment; unset it to stop using that key.');
}

const logoutCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'logout',
  describe: 'Remove the saved API key from this machine',
  builder: (yargs) => yargs.example('$0 logout', 'Forget the key saved by `mp login`'),
  handler: (args) => execute(args, run),
};

export default logoutCommand;
