import type { GlobalArgs } from './global-options';
import type { Io } from './io';

export type Run<Args> = (args: Args, io: Io) => Promise<void>;

/**
 * The body of every yargs handler: runs the command against the real process and turns any
 * error into a printed message and an exit code. It never rejects, because yargs swallows
 * errors thrown from a failing async handler.
 */
export async function execute<Args extends GlobalArgs>(args: Args, run: Run<Args>): Promise<void> {
  const { processIo } = require('./io') as typeof import('./io');
  const io = processIo();
  try {
    await run(args, io);
  } catch (error) {
    const { reportError } = require('./report-error') as typeof import('./report-error');
    process.exitCode = reportError(error, io, { verbose: args.verbose, color: args.color });
  }
}
