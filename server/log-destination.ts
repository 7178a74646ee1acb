import { writeSync } from 'node:fs';
import pino from 'pino';

export type LogFormat = 'pretty' | 'json';

/** Human lines for a person at a terminal; JSON for pipes, files and log collectors. */
export function logFormatFor(stream: { isTTY?: boolean }): LogFormat {
  return stream.isTTY === true ? 'pretty' : 'json';
}

/**
 * Where the log of a command run from a shell goes: file descriptor 1 or 2, as JSON, or as
 * pino-pretty lines when that descriptor is a terminal. The pretty lines are written
 * synchronously, so a fatal line just before process.exit() is not lost.
 */
export function terminalDestination(fd: 1 | 2): pino.DestinationStream {
  if (logFormatFor(fd === 1 ? process.stdout : process.stderr) === 'json') return pino.destination(fd);
  // Loaded only for a terminal: the JSON path (servers in production) does not pay for it.
  const { prettyFactory } = require('pino-pretty') as typeof import('pino-pretty');
  const prettify = prettyFactory({ translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', singleLine: true });
  return { write: (line: string) => void writeSync(fd, prettify(line)) };
}
