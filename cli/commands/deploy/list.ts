import type { CommandModule } from 'yargs';
import type { DeploymentFieldsFragment, DeploymentStatus, DeployListQuery } from '../../../generated/cli-operations';
import { execute } from '../../execute';
import { MAX_LIMIT, parseLimit } from '../../flag-parsers';
import type { GlobalArgs } from '../../global-options';
import type { Io } from '../../io';
import { parseDeploymentStatuses, statusChoices } from './flags';

export interface DeployListArgs extends GlobalArgs {
  status?: DeploymentStatus[];
  limit?: number;
}

export const DEFAULT_LIMIT = 20;

export async function run(args: DeployListArgs, io: Io): Promise<void> {
  const { resolveSession, connect } = require('../../session') as typeof import('../../session');
  const { DeployListDocument } = require('../../../generated/cli-operations') as typeof import('../../../generated/cli-operations');
  const { Output } = require('../../output') as typeof import('../../output');
  const { deploymentColumns } = require('./display') as typeof import('./display');
  const out = new Output(io, args);
  const client = connect(resolveSession(args, io.env), args, io, 'required');
  const limit = args.limit ?? DEFAULT_LIMIT;
  const filter = args.status ? { status: args.status } : null;
  const deployments: DeploymentFieldsFragment[] = [];
  let totalCount = 0;
  let after: string | null = null;
  // The server may return fewer than asked per page; keep following the cursor.
  while (deployments.length < limit) {
    const { deployments: page }: DeployListQuery = await client.request(DeployListDocument, { filter, first: limit - deployments.length, after });
    totalCount = page.totalCount;
    deployments.push(...page.nodes);
    if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor || page.nodes.length === 0) break;
    after = page.pageInfo.endCursor;
  }

  if (out.json) {
    out.data(deployments);
    return;
  }
  if (deployments.length === 0) {
    out.status(args.status ? 'No deployments match.' : 'No deployments yet. Deploy a serving project with `mp deploy` (in its directory).');
    return;
  }
  out.table(deploymentColumns(), deployments);
  if (totalCount > deployments.length) {
    out.status(out.paintErr('dim', `Showing ${deployments.length} of ${totalCount} deployments; use --limit (up to ${MAX_LIMIT}) or --status to see others.`));
  }
  out.status(out.paintErr('dim', 'One deployment in detail: mp deploy status <deployment_id>'));
}

const deployListCommand: CommandModule<GlobalArgs, DeployListArgs> = {
  command: 'list',
  aliases: ['ls'],
  describe: 'Your deployments, newest first: status, health, last heartbeat, endpoint',
  builder: (yargs) =>
    yargs
      .option('status', {
        type: 'string',
        requiresArg: true,
        describe: `Only deployments in these states, comma-separated: ${statusChoices()}`,
        coerce: parseDeploymentStatuses,
      })
      .option('limit', {
        type: 'string',
        requiresArg: true,
        describe: `How many to list (1 to ${MAX_LIMIT}, default ${DEFAULT_LIMIT})`,
        coerce: parseLimit,
      })
      .example('$0 deploy list', 'Your 20 newest deployments')
      .example('$0 deploy list --status live --json', 'The ones not stopped or failed, as JSON'),
  handler: (args) => execute(args, run),
};

export default deployListCommand;
