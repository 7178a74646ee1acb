import { z } from 'zod';
import type { DatasetsService } from '../../modules/datasets/datasets.service';
import type { DatasetRoundEntity } from '../../modules/datasets/dataset-round.entity';
import type { DatasetFileEntity } from '../../modules/datasets/dataset-file.entity';
import type { PriceRow } from '../../modules/datasets/round-builder';
import { RoundInputError } from '../../modules/datasets/round-builder/errors';
import { defineAction, type OperatorContext } from '../action';

const BY = 'operator (mp-server)';

/** A CSV's text travels with the command: the file is read where the operator typed its name. */
const prices = { csv: z.string(), symbol: z.string().optional(), symbolColumn: z.string().optional() };

export interface RoundWithFiles {
  round: DatasetRoundEntity;
  files: DatasetFileEntity[] | null;
}

// Loaded when an action runs, not when a command starts (see identity.ts).
function datasetsOf({ config, database }: OperatorContext): DatasetsService {
  const { DatasetsService } = require('../../modules/datasets/datasets.service') as typeof import('../../modules/datasets/datasets.service');
  const { LocalBlobStore } = require('../../storage/blob-store') as typeof import('../../storage/blob-store');
  return new DatasetsService(database.dataSource, new LocalBlobStore(config.blobDir));
}

function pricesOf(args: { csv: string; symbol?: string; symbolColumn?: string }): PriceRow[] {
  const { parsePricesCsv } = require('../../modules/datasets/round-builder') as typeof import('../../modules/datasets/round-builder');
  return parsePricesCsv(args.csv, { symbol: args.symbol, symbolColumn: args.symbolColumn });
}

export const createRound = defineAction({
  name: 'rounds.create',
  args: z.object({ ...prices, horizon: z.number(), name: z.string().optional(), description: z.string().optional(), open: z.boolean() }),
  async run(context, args): Promise<RoundWithFiles> {
    const rows = pricesOf(args);
    if (!Number.isInteger(args.horizon) || args.horizon < 1 || args.horizon > 260) {
      throw new RoundInputError(`--horizon must be a whole number of trading days from 1 to 260 (got ${args.horizon})`);
    }
    const datasets = datasetsOf(context);
    const round = await datasets.createRound({
      prices: rows,
      horizonDays: args.horizon,
      name: args.name,
      description: args.description,
      open: args.open,
      by: BY,
    });
    return { round, files: (await datasets.filesOf([round.number]))[0] };
  },
});

export const resolveRound = defineAction({
  name: 'rounds.resolve',
  args: z.object({ ...prices, number: z.number() }),
  async run(context, args): Promise<RoundWithFiles> {
    const datasets = datasetsOf(context);
    const round = await datasets.resolveRound(args.number, pricesOf(args), BY);
    return { round, files: (await datasets.filesOf([round.number]))[0] };
  },
});

export const changeRoundStatus = defineAction({
  name: 'rounds.change-status',
  args: z.object({ number: z.number(), to: z.enum(['OPEN', 'CLOSED']) }),
  async run(context, args): Promise<RoundWithFiles> {
    return { round: await datasetsOf(context).changeStatusAs(args.number, args.to, BY), files: null };
  },
});

export const listRounds = defineAction({
  name: 'rounds.list',
  args: z.object({}),
  async run(context): Promise<DatasetRoundEntity[]> {
    const page = await datasetsOf(context).list({ role: 'ADMIN', vendorId: null, apiKeyId: 'operator', expiresAt: null }, { first: 100 });
    return page.nodes;
  },
});
