/**
 * Log lines: one line each, info on stdout, warnings and errors on stderr (the marketplace keeps
 * both as the deployment's log). Nothing secret is ever passed here: no token, no signed URL.
 */
export interface Log {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ');
}

export const consoleLog: Log = {
  info: (message) => process.stdout.write(`${oneLine(message)}\n`),
  warn: (message) => process.stderr.write(`warning: ${oneLine(message)}\n`),
  error: (message) => process.stderr.write(`error: ${oneLine(message)}\n`),
};
