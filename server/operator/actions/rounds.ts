import { z } from 'zod';
import { DatasetsService } from '../../modules/datasets/datasets.service';
import type { DatasetRoundEntity } from '../../modules/datasets/dataset-round.entity';
import type { DatasetFileEntity } from '../../modules/datasets/dataset-file.entity';
import { parsePricesCsv, RoundInputError } from '../../modules/datasets/round-builder';
import { LocalBlobStore } from '../../storage/blob-store';
import { defineAction, type OperatorContext } from '../action';

const BY = 'operator (mp-server)';

/** A CSV's text travels with the command: the file is read where the operator typed its name. */
const prices = { csv: z.string(), symbol: z.string().optional(), symbolColumn: z.string().optional() };

export interface RoundWithFiles {
  round: DatasetRoundEntity;
  files: DatasetFileEntity[] | null;
}

function datasetsOf({ config, database }: OperatorContext): DatasetsService {
  return new DatasetsService(database.dataSource, new LocalBlobStore(config.blobDir));
}

export const createRound = defineAction({
  name: 'rounds.create',
  args: z.object({ ...prices, horizon: z.number(), name: z.string().optional(), description: z.string().optional(), open: z.boolean() }),
  async run(context, args): Promise<RoundWithFiles> {
    const rows = parsePricesCsv(args.csv, { symbol: args.symbol, symbolColumn: args.symbolColumn });
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
    const round = await datasets.resolveRound(args.number, parsePricesCsv(args.csv, { symbol: args.symbol, symbolColumn: args.symbolColumn }), BY);
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
