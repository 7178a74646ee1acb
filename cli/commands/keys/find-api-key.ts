import type { ApiKeysQuery } from '../../../generated/cli-operations';
import type { GraphQLClient } from '../../client';

type ApiKeyRow = ApiKeysQuery['apiKeys']['nodes'][number];

/** One of the caller's keys, revoked ones included, looked up before asking about it; NOT_FOUND (exit 4) when it is not among them. */
export async function findApiKey(client: GraphQLClient, id: string): Promise<ApiKeyRow> {
  const { ApiKeysDocument } = require('../../../generated/cli-operations') as typeof import('../../../generated/cli-operations');
  const { CliError, ExitCode } = require('../../errors') as typeof import('../../errors');
  let after: string | null = null;
  for (;;) {
    const { apiKeys }: ApiKeysQuery = await client.request(ApiKeysDocument, { first: 100, after, includeRevoked: true });
    const found = apiKeys.nodes.find((key) => key.id === id);
    if (found) return found;
    if (!apiKeys.pageInfo.hasNextPage || !apiKeys.pageInfo.endCursor) break;
    after = apiKeys.pageInfo.endCursor;
  }
  throw new CliError(`no API key ${id} among yours`, ExitCode.NOT_FOUND, { hint: 'See `mp keys list --all` for their ids.' });
}
