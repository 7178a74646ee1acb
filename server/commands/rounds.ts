import { readFile } from 'node:fs/promises';
import type { Argv } from 'yargs';
import { RoundInputError } from '../modules/datasets/round-builder/errors';
import { runOperatorAction } from '../operator/run-action';
import type { Jsonified } from '../operator/action';
import { changeRoundStatus, createRound, listRounds, resolveRound, type RoundWithFiles } from '../operator/actions/rounds';
import { withConfig } from './with-config';

/** `mp-server rounds create|resolve|open|close|list`: the operator's side of dataset rounds. */
export function roundsCommand(yargs: Argv): Argv {
  return yargs
    .command(
      'create',
      'Build a round from a daily OHLCV CSV (features, targets, train/validation/live files)',
      (args) =>
        args
          .option('from', { type: 'string', demandOption: true, describe: 'CSV with date,open,high,low,close,volume (and optionally a symbol column)' })
          .option('symbol', { type: 'string', describe: 'symbol for a file without a symbol column (default SPX)' })
          .option('symbol-column', { type: 'string', describe: 'name of the symbol column (default: symbol or ticker when present)' })
          .option('horizon', { type: 'number', default: 5, describe: 'target horizon in trading days (1 to 260)' })
          .option('name', { type: 'string', describe: 'round name (default "Round N")' })
          .option('description', { type: 'string', describe: 'what the round holds' })
          .option('open', { type: 'boolean', default: false, describe: 'open it at once (else it stays UPCOMING)' })
          .option('json', { type: 'boolean', default: false })
          .example('$0 rounds create --from prices.csv --horizon 5 --open', 'build and open the next round'),
      (args) =>
        withConfig(async (config, log) => {
          const csv = await readCsv(args.from);
          const created = await runOperatorAction(config, log, createRound, {
            csv,
            symbol: args.symbol,
            symbolColumn: args['symbol-column'],
            horizon: args.horizon,
            name: args.name,
            description: args.description,
            open: args.open,
          });
          print(created, args.json);
        }),
    )
    .command(
      'resolve <number>',
      'Add the RESOLUTION file of a CLOSED round from newer prices and mark it RESOLVED',
      (args) =>
        args
          .positional('number', { type: 'number', demandOption: true })
          .option('from', { type: 'string', demandOption: true, describe: 'CSV of prices that reach past the live period by the horizon' })
          .option('symbol', { type: 'string' })
          .option('symbol-column', { type: 'string' })
          .option('json', { type: 'boolean', default: false })
          .example('$0 rounds resolve 3 --from prices-newer.csv', ''),
      (args) =>
        withConfig(async (config, log) => {
          const csv = await readCsv(args.from);
          print(
            await runOperatorAction(config, log, resolveRound, { csv, number: args.number, symbol: args.symbol, symbolColumn: args['symbol-column'] }),
            args.json,
          );
        }),
    )
    .command(
      'open <number>',
      'Open an UPCOMING round (it becomes the current round)',
      (args) => args.positional('number', { type: 'number', demandOption: true }).option('json', { type: 'boolean', default: false }),
      (args) =>
        withConfig(async (config, log) => print(await runOperatorAction(config, log, changeRoundStatus, { number: args.number, to: 'OPEN' }), args.json)),
    )
    .command(
      'close <number>',
      'Close an OPEN round',
      (args) => args.positional('number', { type: 'number', demandOption: true }).option('json', { type: 'boolean', default: false }),
      (args) =>
        withConfig(async (config, log) => print(await runOperatorAction(config, log, changeRoundStatus, { number: args.number, to: 'CLOSED' }), args.json)),
    )
    .command(
      'list',
      'List every round, UPCOMING ones included',
      (args) => args.option('json', { type: 'boolean', default: false }),
      (args) =>
        withConfig(async (config, log) => {
          const rounds = await runOperatorAction(config, log, listRounds, {});
          if (args.json) return void process.stdout.write(`${JSON.stringify(rounds)}\n`);
          for (const round of rounds) process.stdout.write(`${String(round.number).padStart(4)}  ${round.status.padEnd(9)}  ${round.name}\n`);
          if (rounds.length === 0) process.stdout.write('No rounds yet: mp-server rounds create --from FILE\n');
        }),
    )
    .demandCommand(1, 'name an action: create, resolve, open, close, list');
}

async function readCsv(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new RoundInputError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
}

function print({ round, files }: Jsonified<RoundWithFiles>, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ ...round, files: files ?? undefined })}\n`);
    return;
  }
  const lines = [`Round ${round.number} "${round.name}" is ${round.status}`];
  lines.push(`  symbols: ${round.symbols.join(', ')}   horizon: ${round.horizonDays} days   features: ${round.featureNames.length}`);
  for (const split of round.splits) lines.push(`  ${split.kind.toLowerCase().padEnd(10)} ${split.firstDate} .. ${split.lastDate}`);
  for (const file of files ?? []) {
    lines.push(
      `  ${file.name.padEnd(16)} ${String(file.rowCount).padStart(7)} rows  ${(file.sizeBytes / 1024).toFixed(0).padStart(7)} KiB  sha256 ${file.sha256.slice(0, 12)}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}
