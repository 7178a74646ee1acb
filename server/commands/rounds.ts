import { readFile } from 'node:fs/promises';
import type { Argv } from 'yargs';
import type { ServerConfig } from '../config';
import type { Logger } from '../logger';
import { openForServing } from '../bootstrap';
import { LocalBlobStore } from '../storage/blob-store';
import { DatasetsService } from '../modules/datasets/datasets.service';
import type { DatasetRoundEntity } from '../modules/datasets/dataset-round.entity';
import { parsePricesCsv, RoundInputError } from '../modules/datasets/round-builder';
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
        withConfig((config, log) =>
          withDatasets(config, log, async (datasets) => {
            const prices = parsePricesCsv(await readCsv(args.from), { symbol: args.symbol, symbolColumn: args['symbol-column'] });
            if (!Number.isInteger(args.horizon) || args.horizon < 1 || args.horizon > 260) {
              throw new RoundInputError(`--horizon must be a whole number of trading days from 1 to 260 (got ${args.horizon})`);
            }
            const round = await datasets.createRound({
              prices,
              horizonDays: args.horizon,
              name: args.name,
              description: args.description,
              open: args.open,
              by: 'operator (mp-server)',
            });
            print(round, await datasets.filesOf([round.number]).then(([files]) => files), args.json);
          }),
        ),
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
        withConfig((config, log) =>
          withDatasets(config, log, async (datasets) => {
            const prices = parsePricesCsv(await readCsv(args.from), { symbol: args.symbol, symbolColumn: args['symbol-column'] });
            const round = await datasets.resolveRound(args.number, prices, 'operator (mp-server)');
            print(round, (await datasets.filesOf([round.number]))[0], args.json);
          }),
        ),
    )
    .command(
      'open <number>',
      'Open an UPCOMING round (it becomes the current round)',
      (args) => args.positional('number', { type: 'number', demandOption: true }).option('json', { type: 'boolean', default: false }),
      (args) =>
        withConfig((config, log) =>
          withDatasets(config, log, async (datasets) => print(await datasets.changeStatusAs(args.number, 'OPEN', 'operator (mp-server)'), null, args.json)),
        ),
    )
    .command(
      'close <number>',
      'Close an OPEN round',
      (args) => args.positional('number', { type: 'number', demandOption: true }).option('json', { type: 'boolean', default: false }),
      (args) =>
        withConfig((config, log) =>
          withDatasets(config, log, async (datasets) => print(await datasets.changeStatusAs(args.number, 'CLOSED', 'operator (mp-server)'), null, args.json)),
        ),
    )
    .command(
      'list',
      'List every round, UPCOMING ones included',
      (args) => args.option('json', { type: 'boolean', default: false }),
      (args) =>
        withConfig((config, log) =>
          withDatasets(config, log, async (datasets) => {
            const page = await datasets.list({ role: 'ADMIN', vendorId: null, apiKeyId: 'operator', expiresAt: null }, { first: 100 });
            if (args.json) return void process.stdout.write(`${JSON.stringify(page.nodes)}\n`);
            for (const round of page.nodes) process.stdout.write(`${String(round.number).padStart(4)}  ${round.status.padEnd(9)}  ${round.name}\n`);
            if (page.nodes.length === 0) process.stdout.write('No rounds yet: mp-server rounds create --from FILE\n');
          }),
        ),
    )
    .demandCommand(1, 'name an action: create, resolve, open, close, list');
}

async function withDatasets(config: ServerConfig, log: Logger, work: (datasets: DatasetsService) => Promise<void>): Promise<void> {
  const database = await openForServing(config, log);
  try {
    await work(new DatasetsService(database.dataSource, new LocalBlobStore(config.blobDir)));
  } finally {
    await database.close();
  }
}

async function readCsv(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new RoundInputError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
}

function print(
  round: DatasetRoundEntity,
  files: { name: string; kind: string; rowCount: number; sizeBytes: number; sha256: string }[] | null,
  json: boolean,
): void {
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
