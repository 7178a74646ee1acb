import type { CommandModule } from 'yargs';
import type { WhoamiQuery } from '../../generated/cli-operations';
import { execute } from '../execute';
import type { GlobalArgs } from '../global-options';
import type { Io } from '../io';
import type { Output } from '../output';

export interface LoginArgs extends GlobalArgs {
  apiKey?: string;
}

/** --api-key, else MP_API_KEY, else piped stdin, else a hidden prompt on the terminal. */
async function readApiKey(args: LoginArgs, io: Io): Promise<string> {
  const { promptHidden, readAll } = require('../prompt') as typeof import('../prompt');
  const { usageError } = require('../errors') as typeof import('../errors');
  let key = args.apiKey ?? io.env.MP_API_KEY;
  if (key === undefined) {
    key = io.stdin.isTTY ? await promptHidden('Paste your API key (vk_...): ', io) : await readAll(io.stdin);
  }
  key = key.trim();
  if (!key) throw usageError('no API key given', 'Pass --api-key, set MP_API_KEY or pipe the key on stdin.');
  if (/\s/.test(key)) throw usageError('the API key must not contain spaces or line breaks');
  return key;
}

function describeCaller(me: WhoamiQuery['me']): string {
  if (me.vendor) return `${me.vendor.displayName} (${me.vendor.handle})`;
  return me.role === 'ADMIN' ? 'admin' : me.role.toLowerCase();
}

export async function run(args: LoginArgs, io: Io): Promise<void> {
  const { resolveSession, verboseLog } = require('../session') as typeof import('../session');
  const { GraphQLClient } = require('../client') as typeof import('../client');
  const { WhoamiDocument } = require('../../generated/cli-operations') as typeof import('../../generated/cli-operations');
  const { CliError, ExitCode } = require('../errors') as typeof import('../errors');
  const { writeConfigFile } = require('../config') as typeof import('../config');
  const { Output } = require('../output') as typeof import('../output');
  const { formatKeyPrefix } = require('../format') as typeof import('../format');
  const out: Output = new Output(io, args);

  const session = resolveSession(args, io.env);
  const apiKey = await readApiKey(args, io);
  const client = new GraphQLClient({
    apiUrl: session.apiUrl,
    apiKey,
    log: verboseLog(args, io),
  });

  let me: WhoamiQuery['me'];
  try {
    ({ me } = await client.request(WhoamiDocument, {}));
  } catch (error) {
    // The generic hint says "run mp login", which is what the user is doing.
    if (error instanceof CliError && error.exitCode === ExitCode.AUTH) {
      throw new CliError(`${error.message}; nothing was saved`, error.exitCode, { requestId: error.requestId });
    }
    throw error;
  }

  writeConfigFile(session.configFile, { ...session.config, apiUrl: session.apiUrl, apiKey });

  if (out.json) {
    out.data({ apiUrl: session.apiUrl, role: me.role, vendor: me.vendor, apiKey: me.apiKey, configFile: session.configFile });
  } else {
    out.success(`Logged in to ${session.apiUrl} as ${describeCaller(me)}`);
    out.status(`Key ${formatKeyPrefix(me.apiKey.prefix)} saved in ${session.configFile}`);
  }
  if (args.apiKey !== undefined) {
    out.warn('A key given with --api-key lands in your shell history: next time pipe it on stdin or set MP_API_KEY.');
  }
  if (io.env.MP_API_KEY && args.apiKey !== undefined && args.apiKey.trim() !== io.env.MP_API_KEY.trim()) {
    out.warn('MP_API_KEY is set in your environment and takes precedence over the saved key.');
  }
}

const loginCommand: CommandModule<GlobalArgs, LoginArgs> = {
  command: 'login',
  describe: 'Check an API key and save it for the other commands',
  builder: (yargs) =>
    yargs
      .option('api-key', {
        type: 'string',
        requiresArg: true,
        describe: 'The key (vk_...); lands in shell history, so prefer MP_API_KEY, piped stdin or the hidden prompt',
      })
      .example('$0 login', 'Prompt for the key (input hidden)')
      .example('$0 login --api-url https://mp.example.com < key.txt', 'Read the key from a file')
      .example('pass show mp/api-key | $0 login', 'Pipe it from a password manager'),
  handler: (args) => execute(args, run),
};

export default loginCommand;
