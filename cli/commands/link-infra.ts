import type { CommandModule } from 'yargs';
import { execute } from '../execute';
import type { GlobalArgs } from '../global-options';
import type { Io } from '../io';

export interface LinkInfraArgs extends GlobalArgs {
  deployment: string;
  signalsUrl?: string;
}

export async function run(args: LinkInfraArgs, io: Io): Promise<void> {
  const { resolveSession, connect } = require('../session') as typeof import('../session');
  const { DeployLinkDocument } = require('../../generated/cli-operations') as typeof import('../../generated/cli-operations');
  const { Output } = require('../output') as typeof import('../output');
  const { MARKETPLACE_SIGNAL_STORE, withDeploymentHint } = require('./deploy/display') as typeof import('./deploy/display');
  const out = new Output(io, args);
  const client = connect(resolveSession(args, io.env), args, io, 'required');
  const id = args.deployment.trim();
  const signalsUrl = args.signalsUrl?.trim() || null;
  const { linkDeployment: linked } = await client.request(DeployLinkDocument, { id, signalsUrl }).catch((error: unknown) => {
    throw withDeploymentHint(error);
  });
  if (out.json) {
    out.data(linked);
    return;
  }
  out.success(
    signalsUrl
      ? `Linked deployment ${linked.id}: its signals go to ${linked.signalsUrl}`
      : `Linked deployment ${linked.id} to ${MARKETPLACE_SIGNAL_STORE}${linked.signalsUrl ? `, ${linked.signalsUrl}` : ''} (no --signals-url given)`,
  );
  out.status(out.paintErr('dim', 'The running endpoint gets the change with its next heartbeat.'));
}

const linkInfraCommand: CommandModule<GlobalArgs, LinkInfraArgs> = {
  command: 'link-infra',
  describe: 'Link a deployment to the trading infrastructure: where it writes its signals',
  builder: (yargs) =>
    yargs
      .option('deployment', { type: 'string', demandOption: true, requiresArg: true, describe: 'The deployment id' })
      .option('signals-url', {
        type: 'string',
        requiresArg: true,
        describe: "The signal store's http(s) URL; without it, the marketplace's own signal store",
      })
      .example('$0 link-infra --deployment dep_2Xf9... --signals-url https://infra.example/api/signals/store', 'Write its signals there')
      .example('$0 link-infra --deployment dep_2Xf9...', "Back to the marketplace's own signal store"),
  handler: (args) => execute(args, run),
};

export default linkInfraCommand;
