#!/usr/bin/env node
// The `mp` executable. `mp --version` answers before yargs and the commands are loaded.
import { packageVersion } from './version';

/** `mp data info | head -1`: the reader went away, which is not an error of ours (as with `gh`, exit quietly). */
function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const argv = process.argv.slice(2);
exitQuietlyOnClosedPipe(process.stdout);
if (argv.length === 1 && argv[0] === '--version') {
  process.stdout.write(`${packageVersion()}\n`);
} else {
  void (require('./index') as typeof import('./index')).main(argv);
}
