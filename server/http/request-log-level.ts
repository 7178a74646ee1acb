/** An operation that takes at least this long is logged at info, like one that failed. */
export const SLOW_REQUEST_MS = 1000;

/**
 * The level of an operation's log line: info for errors and slow operations, which an operator
 * wants to see, and debug for the rest, so that a busy server's log at info stays readable.
 */
export function requestLogLevel(outcome: { errorCount: number; durationMs: number }): 'info' | 'debug' {
  return outcome.errorCount > 0 || outcome.durationMs >= SLOW_REQUEST_MS ? 'info' : 'debug';
}
