import { CliError, ExitCode } from './errors';
import type { Io } from './io';

/** Reads all of stdin (for `echo $KEY | mp login`). */
export async function readAll(stdin: Io['stdin']): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function interrupted(): CliError {
  return new CliError('cancelled', ExitCode.INTERRUPTED);
}

/** Asks on stderr and reads one line from a terminal without echoing it. */
export function promptHidden(question: string, io: Io): Promise<string> {
  const { stdin, stderr } = io;
  if (!stdin.setRawMode) return Promise.reject(new CliError('cannot prompt: stdin is not a terminal', ExitCode.USAGE));
  const setRawMode = stdin.setRawMode.bind(stdin);
  stderr.write(question);
  return new Promise((resolve, reject) => {
    let answer = '';
    const finish = (error?: CliError) => {
      stdin.removeListener('data', onData);
      setRawMode(false);
      stdin.pause();
      stderr.write('\n');
      if (error) reject(error);
      else resolve(answer);
    };
    const onData = (data: Buffer | string) => {
      for (const char of data.toString('utf8')) {
        if (char === '\r' || char === '\n' || char === '\u0004') return finish();
        if (char === '\u0003') return finish(interrupted());
        if (char === '\u007f' || char === '\b') answer = answer.slice(0, -1);
        else answer += char;
      }
    };
    setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}

/** A y/N question on a terminal; anything but y/yes is no. */
export async function confirm(question: string, io: Io): Promise<boolean> {
  const readline = require('node:readline/promises') as typeof import('node:readline/promises');
  const rl = readline.createInterface({ input: io.stdin, output: io.stderr as NodeJS.WritableStream, terminal: true });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } catch (error) {
    // readline rejects with an AbortError on Ctrl-C.
    if ((error as NodeJS.ErrnoException).code === 'ABORT_ERR') {
      io.stderr.write('\n');
      throw interrupted();
    }
    throw error;
  } finally {
    rl.close();
  }
}
