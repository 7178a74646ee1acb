import yargs from 'yargs';
import type { CommandModule } from 'yargs';
import catalogCommand from './commands/catalog';
import consensusCommand from './commands/consensus';
import leaderboardCommand from './commands/leaderboard';
import optimizeCommand from './commands/optimize';
import dataCommand from './commands/data';
import deployCommand from './commands/deploy';
import devCommand from './commands/dev';
import gpusCommand from './commands/gpus';
import heartbeatCommand from './commands/heartbeat';
import initCommand from './commands/init';
import keysCommand from './commands/keys';
import linkInfraCommand from './commands/link-infra';
import loginCommand from './commands/login';
import registerCommand from './commands/register';
import signalsCommand from './commands/signals';
import logoutCommand from './commands/logout';
import trainCommand from './commands/train';
import unregisterCommand from './commands/unregister';
import validateCommand from './commands/validate';
import whoamiCommand from './commands/whoami';
import { CliError, usageError } from './errors';
import { commandPath, unknownCommand } from './command-tree';
import { rejectRepeatedFlags, type ParsedOptions } from './repeated-flags';
import { packageVersion } from './version';
import { globalOptions } from './global-options';
import type { GlobalArgs } from './global-options';

const commands = [
  loginCommand,
  logoutCommand,
  whoamiCommand,
  keysCommand,
  catalogCommand,
  dataCommand,
  trainCommand,
  gpusCommand,
  initCommand,
  devCommand,
  validateCommand,
  deployCommand,
  linkInfraCommand,
  heartbeatCommand,
  registerCommand,
  unregisterCommand,
  signalsCommand,
  consensusCommand,
  leaderboardCommand,
  optimizeCommand,
] as CommandModule<GlobalArgs, GlobalArgs>[];

/** yargs says "Unknown argument: revok" for a mistyped command; say it is a command, and which one was meant. */
export function usageFailure(message: string | undefined, error: Error | undefined, argv: readonly string[]): CliError {
  const usage = `Run \`${commandPath(argv)} --help\` for usage.`;
  if (error instanceof CliError) return error.hint ? error : usageError(error.message, usage);
  const text = message || error?.message || 'invalid arguments';
  const unknownArguments = /^Unknown arguments?: (.+)$/.exec(text)?.[1].split(', ');
  const command = unknownArguments ? unknownCommand(argv) : undefined;
  if (command && unknownArguments?.includes(command.word)) return usageError(command.message, command.hint);
  return usageError(text, usage);
}

export function buildCli(argv: readonly string[]) {
  const cli = yargs([...argv]);
  const usage = `Run \`${commandPath(argv)} --help\` for usage.`;
  // Before validation and coercion, so `--limit 5 --limit 6` is not reported as a bad number.
  cli.middleware((args) => rejectRepeatedFlags(argv, args, (cli as unknown as { getOptions(): ParsedOptions }).getOptions(), usage), true);
  return cli
    .scriptName('mp')
    .usage('mp <command> [options]\n\nThe NeuroNetIQ model marketplace from your terminal.')
    .options(globalOptions)
    .command(commands)
    .completion('completion', 'Print a bash or zsh completion script: mp completion >> ~/.bashrc')
    .demandCommand(1, 'choose a command')
    .strict()
    .version(packageVersion())
    .help()
    .alias('h', 'help')
    .example('$0 login', 'Save your API key (asks for it)')
    .example('$0 catalog list --task signal', 'Browse published signal models')
    .example('$0 keys create --name ci --expires 30d', 'A key for CI that expires in 30 days')
    .example('$0 data pull --round current --dir ./data', 'Download the current dataset round')
    .epilogue('Exit codes, flags and a walkthrough: docs/cli.md. Every command has --help.')
    .wrap(Math.min(110, process.stdout.columns || 80))
    .fail((message, error) => {
      throw usageFailure(message, error, argv);
    });
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const cli = buildCli(argv);
  if (argv.length === 0) {
    cli.showHelp((help) => process.stderr.write(`${help}\n`));
    process.exitCode = 2;
    return;
  }
  try {
    await cli.parseAsync();
  } catch (error) {
    const { reportError } = require('./report-error') as typeof import('./report-error');
    const { processIo } = require('./io') as typeof import('./io');
    process.exitCode = reportError(error, processIo(), {
      verbose: argv.includes('--verbose'),
      color: !argv.includes('--no-color'),
    });
  }
}

export { commandPath, packageVersion };
