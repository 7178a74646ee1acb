import type { CommandModule } from 'yargs';
import { execute } from '../../execute';
import type { GlobalArgs } from '../../global-options';
import type { Io } from '../../io';

export interface TrainStopArgs extends GlobalArgs {
  run_id: string;
}

export async function run(args: TrainStopArgs, io: Io): Promise<void> {
  const { resolveSession, connect } = require('../../session') as typeof import('../../session');
  const { TrainStopDocument } = require('../../../generated/cli-operations') as typeof import('../../../generated/cli-operations');
  const { Output } = require('../../output') as typeof import('../../output');
  const { isActive } = require('./flags') as typeof import('./flags');
  const { withRunHint } = require('./run-display') as typeof import('./run-display');
  const { CliError, ExitCode } = require('../../errors') as typeof import('../../errors');
  const out = new Output(io, args);
  const client = connect(resolveSession(args, io.env), args, io, 'required');
  const runId = args.run_id.trim();
  // A finished run is PRECONDITION_FAILED: exit 5 with the server's message.
  const { stopTrainingRun: stopped } = await client.request(TrainStopDocument, { id: runId }).catch((error: unknown) => {
    throw withRunHint(error);
  });
  if (!isActive(stopped.status) && stopped.status !== 'CANCELLED') {
    // It ended on its own while the stop was on its way: as for a run that had already finished.
    throw new CliError(`run ${stopped.id} finished (${stopped.status}) before it could be stopped`, ExitCode.INVALID, {
      hint: `See it with \`mp train status ${stopped.id}\`.`,
    });
  }
  if (out.json) {
    out.data(stopped);
    return;
  }
  if (isActive(stopped.status)) {
    out.success(`Stopping training run ${stopped.id} (${stopped.status}); it ends within a few seconds`);
    out.status(out.paintErr('dim', `Watch it end: mp train logs ${stopped.id} -f`));
  } else {
    out.success(`Stopped training run ${stopped.id} (${stopped.status})`);
  }
}

const trainStopCommand: CommandModule<GlobalArgs, TrainStopArgs> = {
  command: 'stop <run_id>',
  describe: 'Stop a queued or running training run (its logs and artifacts so far are kept)',
  builder: (yargs) =>
    yargs
      .positional('run_id', { type: 'string', demandOption: true, describe: 'The run id' })
      .example('$0 train stop trn_2Xf9...', 'Stop it; a run that already finished is exit 5'),
  handler: (args) => execute(args, run),
};

export default trainStopCommand;
