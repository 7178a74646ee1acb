import type { CommandModule } from 'yargs';
import { execute } from '../../execute';
import { parseExpires } from '../../expires';
import type { GlobalArgs } from '../../global-options';
import type { Io } from '../../io';

export interface KeysCreateArgs extends GlobalArgs {
  name: string;
  /** Parsed from --expires by parseExpires; null or absent means the key never expires. */
  expires?: Date | null;
}

export async function run(args: KeysCreateArgs, io: Io): Promise<void> {
  const { resolveSession, connect } = require('../../session') as typeof import('../../session');
  const { CreateApiKeyDocument } = require('../../../generated/cli-operations') as typeof import('../../../generated/cli-operations');
  const { Output } = require('../../output') as typeof import('../../output');
  const { formatDateTimeWithRelative } = require('../../format') as typeof import('../../format');
  const out = new Output(io, args);
  const client = connect(resolveSession(args, io.env), args, io, 'required');
  const { createApiKey } = await client.request(CreateApiKeyDocument, {
    input: { name: args.name, expiresAt: args.expires ? args.expires.toISOString() : null },
  });

  if (out.json) {
    out.data(createApiKey);
    return;
  }
  const key = createApiKey.apiKey;
  // Status on stderr, the secret alone on stdout: KEY=$(mp keys create --name ci) just works.
  out.status(`${out.paintErr('green', '✓')} Created API key "${key.name}" (${key.id}), expires ${formatDateTimeWithRelative(key.expiresAt, 'never')}`);
  out.warn('Store this key now (e.g. in a password manager): it is shown only once.');
  out.line(createApiKey.secret);
}

const keysCreateCommand: CommandModule<GlobalArgs, KeysCreateArgs> = {
  command: 'create',
  describe: 'Create an API key and print its secret once',
  builder: (yargs) =>
    yargs
      .option('name', {
        type: 'string',
        demandOption: true,
        requiresArg: true,
        describe: 'A label to recognise the key by (1 to 64 characters)',
      })
      .option('expires', {
        type: 'string',
        requiresArg: true,
        describe: 'When the key stops working: 30d, 12h, 8w, 1y, 2026-12-31 (UTC), an ISO time, or never',
        coerce: (value: string) => parseExpires(value),
      })
      .example('$0 keys create --name laptop --expires 90d', 'A key that expires in 90 days')
      .example('$0 keys create --name ci --expires 2026-12-31 --json', 'Machine-readable, secret included'),
  handler: (args) => execute(args, run),
};

export default keysCreateCommand;
