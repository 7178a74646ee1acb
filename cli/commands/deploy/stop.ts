import type { CommandModule } from 'yargs';
import { execute } from '../../execute';
import type { GlobalArgs } from '../../global-options';
import type { Io } from '../../io';

export interface DeployStopArgs extends GlobalArgs {
  deployment_id: string;
}

export async function run(args: DeployStopArgs, io: Io): Promise<void> {
  const { resolveSession, connect } = require('../../session') as typeof import('../../session');
  const { DeployStopDocument } = require('../../../generated/cli-operations') as typeof import('../../../generated/cli-operations');
  const { Output } = require('../../output') as typeof import('../../output');
  const { withDeploymentHint } = require('./display') as typeof import('./display');
  const out = new Output(io, args);
  const client = connect(resolveSession(args, io.env), args, io, 'required');
  const id = args.deployment_id.trim();
  // One that has stopped or failed already is PRECONDITION_FAILED: exit 5 with the server's message.
  const { stopDeployment: stopped } = await client.request(DeployStopDocument, { id }).catch((error: unknown) => {
    throw withDeploymentHint(error);
  });
  if (out.json) {
    out.data(stopped);
    return;
  }
  if (stopped.status === 'STOPPED') {
    out.success(`Stopped deployment ${stopped.id} "${stopped.name}" (STOPPED); its token no longer works`);
    return;
  }
  out.success(`Stopping deployment ${stopped.id} "${stopped.name}" (${stopped.status}); its token no longer works`);
  out.status(out.paintErr('dim', `Watch it end: mp deploy status ${stopped.id} --watch`));
}

const deployStopCommand: CommandModule<GlobalArgs, DeployStopArgs> = {
  command: 'stop <deployment_id>',
  describe: 'Stop a deployment: its endpoint ends and its token is revoked (its history and logs are kept)',
  builder: (yargs) =>
    yargs
      .positional('deployment_id', { type: 'string', demandOption: true, describe: 'The deployment id' })
      .example('$0 deploy stop dep_2Xf9...', 'Stop it; one that has already stopped is exit 5'),
  handler: (args) => execute(args, run),
};

export default deployStopCommand;
