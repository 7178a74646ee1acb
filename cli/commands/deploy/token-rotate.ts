import type { CommandModule } from 'yargs';
import { execute } from '../../execute';
import type { GlobalArgs } from '../../global-options';
import type { Io } from '../../io';

export interface DeployTokenRotateArgs extends GlobalArgs {
  deployment_id: string;
  /** --show-token (yargs sets it; optional only because its types do not camel-case flag names). */
  showToken?: boolean;
}

export async function run(args: DeployTokenRotateArgs, io: Io): Promise<void> {
  const { resolveSession, connect } = require('../../session') as typeof import('../../session');
  const { DeployRotateTokenDocument } = require('../../../generated/cli-operations') as typeof import('../../../generated/cli-operations');
  const { Output } = require('../../output') as typeof import('../../output');
  const { TOKEN_NOTE, deploymentJson, withDeploymentHint } = require('./display') as typeof import('./display');
  const out = new Output(io, args);
  const client = connect(resolveSession(args, io.env), args, io, 'required');
  const id = args.deployment_id.trim();
  const { rotateDeploymentToken: rotated } = await client.request(DeployRotateTokenDocument, { id }).catch((error: unknown) => {
    throw withDeploymentHint(error);
  });
  const { deployment, token } = rotated;
  if (out.json) {
    out.data(deploymentJson(deployment, { show: args.showToken === true, value: token }));
    return;
  }
  const done = `Rotated the token of deployment ${deployment.id}: the old one stopped working; the new one (${deployment.tokenPrefix}) is in its environment`;
  if (args.showToken !== true) {
    out.success(done);
    out.status(out.paintErr('dim', TOKEN_NOTE));
    return;
  }
  // Status on stderr, the token alone on stdout: TOKEN=$(mp deploy token rotate <id> --show-token) just works.
  out.status(`${out.paintErr('green', '✓')} ${done}`);
  out.warn('Store the token now: it is shown only once.');
  out.line(token);
}

const deployTokenRotateCommand: CommandModule<GlobalArgs, DeployTokenRotateArgs> = {
  command: 'rotate <deployment_id>',
  describe: 'A new deployment token; the old one stops working at once, and the running endpoint gets the new one',
  builder: (yargs) =>
    yargs
      .positional('deployment_id', { type: 'string', demandOption: true, describe: 'The deployment id' })
      .option('show-token', { type: 'boolean', default: false, describe: 'Print the new token (sit_...), alone on stdout, shown only this once' })
      .example('$0 deploy token rotate dep_2Xf9...', 'Rotate it (the endpoint picks up the new one)')
      .example('TOKEN=$($0 deploy token rotate dep_2Xf9... --show-token)', 'Rotate it and keep the new token'),
  handler: (args) => execute(args, run),
};

export default deployTokenRotateCommand;
