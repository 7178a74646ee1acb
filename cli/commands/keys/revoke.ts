import type { CommandModule } from 'yargs';
import { execute } from '../../execute';
import type { GlobalArgs } from '../../global-options';
import type { Io } from '../../io';

export interface KeysRevokeArgs extends GlobalArgs {
  id: string;
  yes: boolean;
}

export async function run(args: KeysRevokeArgs, io: Io): Promise<void> {
  const { resolveSession, connect } = require('../../session') as typeof import('../../session');
  const { RevokeApiKeyDocument } = require('../../../generated/cli-operations') as typeof import('../../../generated/cli-operations');
  const { Output } = require('../../output') as typeof import('../../output');
  const { usageError } = require('../../errors') as typeof import('../../errors');
  const { formatKeyPrefix, keyMatchesPrefix } = require('../../format') as typeof import('../../format');
  const out = new Output(io, args);
  if (!args.yes && !io.stdin.isTTY) {
    throw usageError(`refusing to revoke ${args.id} without confirmation: pass --yes`);
  }
  const session = resolveSession(args, io.env);
  const client = connect(session, args, io, 'required');

  if (!args.yes) {
    const { confirm } = require('../../prompt') as typeof import('../../prompt');
    const { findApiKey } = require('./find-api-key') as typeof import('./find-api-key');
    const key = await findApiKey(client, args.id);
    if (key.revokedAt) {
      out.status(`API key "${key.name}" (${key.id}) is already revoked: nothing to do.`);
      return;
    }
    if (!(await confirm(`Revoke API key "${key.name}" (${key.id}, ${formatKeyPrefix(key.prefix)})? It stops working at once.`, io))) {
      out.status('Cancelled: the key was not revoked.');
      return;
    }
  }

  const { revokeApiKey } = await client.request(RevokeApiKeyDocument, { id: args.id });
  if (out.json) out.data(revokeApiKey);
  else out.success(`Revoked API key "${revokeApiKey.name}" (${revokeApiKey.id}, ${formatKeyPrefix(revokeApiKey.prefix)})`);
  if (session.apiKey && keyMatchesPrefix(session.apiKey, revokeApiKey.prefix)) {
    out.warn('That was the key this CLI is using: run `mp login` with another key.');
  }
}

const keysRevokeCommand: CommandModule<GlobalArgs, KeysRevokeArgs> = {
  command: 'revoke <id>',
  describe: 'Revoke an API key; it stops working at once',
  builder: (yargs) =>
    yargs
      .positional('id', { type: 'string', demandOption: true, describe: 'The key id (key_...), see `mp keys list`' })
      .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'Do not ask for confirmation' })
      .example('$0 keys revoke key_2Xf9...', 'Asks before revoking')
      .example('$0 keys revoke key_2Xf9... --yes', 'No question (needed when stdin is not a terminal)'),
  handler: (args) => execute(args, run),
};

export default keysRevokeCommand;
