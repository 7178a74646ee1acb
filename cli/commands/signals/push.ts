import type { CommandModule } from 'yargs';
import type { PushSignalsMutation } from '../../../generated/cli-operations';
import { execute } from '../../execute';
import type { GlobalArgs } from '../../global-options';
import type { Io } from '../../io';

export interface SignalsPushArgs extends GlobalArgs {
  file: string;
  model: string;
  horizon: number;
  confidence: number;
}

/** pushSignals takes at most this many at once. */
const BATCH = 5000;
/** Rejections shown in full; the rest are counted (all are in --json). */
const SHOWN = 10;

type Rejection = PushSignalsMutation['pushSignals']['rejected'][number] & { batch: number };

export async function run(args: SignalsPushArgs, io: Io): Promise<void> {
  const { resolveSession, connect } = require('../../session') as typeof import('../../session');
  const { PushSignalsDocument } = require('../../../generated/cli-operations') as typeof import('../../../generated/cli-operations');
  const { Output } = require('../../output') as typeof import('../../output');
  const { CliError, ExitCode, usageError } = require('../../errors') as typeof import('../../errors');
  const { batchesByDate, readPushFile } = require('./push-file') as typeof import('./push-file');
  const out = new Output(io, args);
  if (!Number.isInteger(args.horizon) || args.horizon < 1 || args.horizon > 365)
    throw usageError(`--horizon must be a whole number of days from 1 to 365 (got ${args.horizon})`);
  if (!(args.confidence >= 0 && args.confidence <= 1)) throw usageError(`--confidence must be from 0 to 1 (got ${args.confidence})`);
  const signals = readPushFile(args.file, { horizonDays: args.horizon, confidence: args.confidence });
  const batches = batchesByDate(signals, BATCH);
  const client = connect(resolveSession(args, io.env), args, io, 'required');

  const total = { round: 0, written: 0, revised: 0, unchanged: 0, rejected: [] as Rejection[] };
  let offset = 0;
  for (const [index, batch] of batches.entries()) {
    const { pushSignals: answer } = await client.request(PushSignalsDocument, { model: args.model.trim(), signals: batch });
    total.round = answer.round;
    total.written += answer.written;
    total.revised += answer.revised;
    total.unchanged += answer.unchanged;
    // Positions in the file rather than in the batch, so a rejection points at its line.
    total.rejected.push(...answer.rejected.map((rejection) => ({ ...rejection, index: offset + rejection.index, batch: index })));
    offset += batch.length;
    if (batches.length > 1 && !out.json) out.status(out.paintErr('dim', `batch ${index + 1} of ${batches.length}: ${batch.length} predictions sent`));
  }

  if (out.json) out.data({ ...total, file: args.file, model: args.model, predictions: signals.length });
  else {
    const stored = `${total.written} new, ${total.revised} revised, ${total.unchanged} unchanged`;
    if (total.rejected.length === 0) out.success(`Pushed ${signals.length} predictions for ${args.model} to round ${total.round}: ${stored}`);
    else {
      out.status(`Pushed ${signals.length} predictions for ${args.model} to round ${total.round}: ${stored}, ${total.rejected.length} refused`);
      out.table(
        [
          { header: 'row', value: (r) => String(r.index + 1) },
          { header: 'symbol', value: (r) => r.symbol ?? '-' },
          { header: 'reason', value: (r) => r.reason.toLowerCase(), style: () => 'yellow' },
          { header: 'message', value: (r) => r.message },
        ],
        total.rejected.slice(0, SHOWN),
      );
      if (total.rejected.length > SHOWN) out.status(out.paintErr('dim', `and ${total.rejected.length - SHOWN} more (--json lists them all)`));
    }
  }
  if (total.rejected.length > 0) throw new CliError(`${total.rejected.length} of ${signals.length} predictions were refused`, ExitCode.INVALID);
}

const signalsPushCommand: CommandModule<GlobalArgs, SignalsPushArgs> = {
  command: 'push <file>',
  describe: 'Upload predictions made elsewhere (BYOC) for one of your models, to the open round',
  builder: (yargs) =>
    yargs
      .positional('file', { type: 'string', demandOption: true, describe: 'A .csv (symbol,date,score[,confidence][,horizonDays]) or .json file' })
      .option('model', {
        type: 'string',
        demandOption: true,
        requiresArg: true,
        describe: 'Your catalog model (slug or mdl_... id): mp register --name ... makes one',
      })
      .option('horizon', { type: 'number', default: 5, requiresArg: true, describe: 'horizonDays for rows without one' })
      .option('confidence', { type: 'number', default: 0.5, requiresArg: true, describe: 'confidence for rows without one (0 to 1)' })
      .example('$0 signals push predictions.csv --model acme/offline-ridge', 'Upload a CSV of symbol,date,score')
      .example('$0 signals push live.json --model acme/offline-ridge --json', 'Upload JSON, answer as JSON'),
  handler: (args) => execute(args, run),
};

export default signalsPushCommand;
