import type { CommandModule } from 'yargs';
import type { ApiKeysQuery } from '../../../generated/cli-operations';
import { execute } from '../../execute';
import type { GlobalArgs } from '../../global-options';
import type { Io } from '../../io';
import type { Column, Style } from '../../output';

export interface KeysListArgs extends GlobalArgs {
  all: boolean;
}

type ApiKeyRow = ApiKeysQuery['apiKeys']['nodes'][number];

const STATUS_STYLE: Record<ApiKeyRow['status'], Style> = { ACTIVE: 'green', EXPIRED: 'yellow', REVOKED: 'red' };

export async function run(args: KeysListArgs, io: Io): Promise<void> {
  const { resolveSession, connect } = require('../../session') as typeof import('../../session');
  const { ApiKeysDocument } = require('../../../generated/cli-operations') as typeof import('../../../generated/cli-operations');
  const { Output } = require('../../output') as typeof import('../../output');
  const { formatDate } = require('../../format') as typeof import('../../format');
  const out = new Output(io, args);
  const client = connect(resolveSession(args, io.env), args, io, 'required');

  const keys: ApiKeyRow[] = [];
  let after: string | null = null;
  for (;;) {
    const { apiKeys }: ApiKeysQuery = await client.request(ApiKeysDocument, {
      first: 100,
      after,
      includeRevoked: args.all,
    });
    keys.push(...apiKeys.nodes);
    if (!apiKeys.pageInfo.hasNextPage || !apiKeys.pageInfo.endCursor || apiKeys.nodes.length === 0) break;
    after = apiKeys.pageInfo.endCursor;
  }

  if (out.json) {
    out.data(keys);
    return;
  }
  if (keys.length === 0) {
    out.status(args.all ? 'No API keys.' : 'No active API keys (use --all to include revoked ones).');
    return;
  }
  const columns: Column<ApiKeyRow>[] = [
    { header: 'id', value: (k) => k.id },
    { header: 'name', value: (k) => k.name },
    { header: 'prefix', value: (k) => k.prefix },
    { header: 'status', value: (k) => k.status.toLowerCase(), style: (k) => STATUS_STYLE[k.status] },
    { header: 'created', value: (k) => formatDate(k.createdAt) },
    { header: 'expires', value: (k) => formatDate(k.expiresAt, 'never') },
    { header: 'last used', value: (k) => formatDate(k.lastUsedAt, 'never') },
  ];
  out.table(columns, keys);
}

const keysListCommand: CommandModule<GlobalArgs, KeysListArgs> = {
  command: 'list',
  aliases: ['ls'],
  describe: 'List your API keys',
  builder: (yargs) =>
    yargs
      .option('all', { type: 'boolean', default: false, describe: 'Include revoked keys' })
      .example('$0 keys list', 'Active and expired keys')
      .example('$0 keys list --all --json', 'Every key, revoked ones too, as JSON'),
  handler: (args) => execute(args, run),
};

export default keysListCommand;
