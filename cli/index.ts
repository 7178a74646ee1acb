import yargs from 'yargs';
import type { CommandModule } from 'yargs';
import catalogCommand from './commands/catalog';
import consensusCommand from './commands/consensus';
import leaderboardCommand from './commands/leaderboard';
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
import { usageError } from './errors';
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
] as CommandModule<GlobalArgs, GlobalArgs>[];

/** Names of the commands and sub-commands, to point a usage error at the right `--help`. */
const COMMAND_TREE: Record<string, readonly string[]> = {
  login: [],
  logout: [],
  whoami: [],
  keys: ['create', 'list', 'ls', 'revoke'],
  catalog: ['list', 'ls', 'show'],
  models: ['list', 'ls', 'show'],
  train: ['start', 'status', 'logs', 'stop', 'artifacts', 'templates'],
  gpus: [],
  data: ['list', 'ls', 'info', 'pull'],
  init: [],
  dev: [],
  validate: [],
  deploy: ['list', 'ls', 'status', 'stop', 'token'],
  'link-infra': [],
  heartbeat: [],
  register: [],
  unregister: [],
  signals: ['list', 'ls', 'push'],
  consensus: [],
  leaderboard: [],
};

export function commandPath(argv: readonly string[]): string {
  const words = argv.filter((arg) => !arg.startsWith('-'));
  const [noun, verb] = words;
  if (!noun || !(noun in COMMAND_TREE)) return 'mp';
  return verb && COMMAND_TREE[noun].includes(verb) ? `mp ${noun} ${verb}` : `mp ${noun}`;
}

/** yargs says only "Did you mean login?" for an unknown command; name the command too. */
export function usageMessage(message: string | undefined, error: Error | undefined, argv: readonly string[]): string {
  const text = message || error?.message || 'invalid arguments';
  if (!text.startsWith('Did you mean')) return text;
  const words = argv.filter((arg) => !arg.startsWith('-'));
  const path = commandPath(argv).split(' ').slice(1);
  const unknown = words[path.length];
  return unknown ? `unknown command "${unknown}". ${text}` : text;
}

export function buildCli(argv: readonly string[]) {
  return yargs([...argv])
    .scriptName('mp')
    .usage('mp <command> [options]\n\nThe NeuroNetIQ model marketplace from your terminal.')
    .options(globalOptions)
    .command(commands)
    .demandCommand(1, 'choose a command')
    .recommendCommands()
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
      throw usageError(usageMessage(message, error, argv), `Run \`${commandPath(argv)} --help\` for usage.`);
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

export { packageVersion };
