import { CliError, ExitCode } from './errors';
import type { Io } from './io';
import { colorEnabled, painter } from './output';

export interface ReportOptions {
  verbose: boolean;
  color: boolean;
}

/**
 * Prints an error the gh way: one `mp: <message>` line, then field details and a hint if any.
 * Stack traces and request ids only with --verbose. Returns the exit code to use.
 */
export function reportError(error: unknown, io: Io, options: ReportOptions): ExitCode {
  const paint = painter(colorEnabled(io.stderr, io.env, options.color));
  const lines: string[] = [];
  let exitCode: ExitCode = ExitCode.UNEXPECTED;
  if (error instanceof CliError) {
    exitCode = error.exitCode;
    lines.push(`mp: ${error.message}`);
    for (const detail of error.details) lines.push(`  - ${detail}`);
    if (error.hint) lines.push(paint('dim', error.hint));
    if (options.verbose) {
      if (error.requestId) lines.push(`request id: ${error.requestId}`);
      const cause = error.cause instanceof Error ? error.cause : error;
      if (cause.stack) lines.push(cause.stack);
      for (let inner = cause.cause, depth = 0; inner instanceof Error && depth < 5; inner = inner.cause, depth += 1) {
        lines.push(`caused by: ${inner.message}`);
      }
    }
  } else {
    const message = error instanceof Error ? error.message : String(error);
    lines.push(`mp: unexpected error: ${message}`);
    if (options.verbose && error instanceof Error && error.stack) lines.push(error.stack);
    else lines.push(paint('dim', 'Run again with --verbose for details.'));
  }
  io.stderr.write(`${lines.join('\n')}\n`);
  return exitCode;
}
