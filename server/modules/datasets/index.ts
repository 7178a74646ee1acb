/** Datasets: numbered rounds of training, validation and live files, built from price history and downloaded through signed links. */
import DataLoader from 'dataloader';
import type { MarketplaceModule } from '../module';
import { datasetsResolvers } from './resolvers';
import { DatasetsService } from './datasets.service';
import { DatasetRoundEntity } from './dataset-round.entity';
import { DatasetFileEntity } from './dataset-file.entity';
import { seedDemoRound } from './seed-round';

declare module '../../context' {
  interface Services {
    datasets: DatasetsService;
  }
  interface Loaders {
    filesByRound: DataLoader<number, DatasetFileEntity[]>;
  }
}

export const datasetsModule: MarketplaceModule = {
  name: 'datasets',
  resolvers: datasetsResolvers,
  entities: [DatasetRoundEntity, DatasetFileEntity],
  create({ database, storage }) {
    const datasets = new DatasetsService(database.dataSource, storage.blobs);
    return {
      services: { datasets },
      loaders: () => ({ filesByRound: new DataLoader((numbers: readonly number[]) => datasets.filesOf(numbers)) }),
      storedFile: (blobKey) => datasets.storedFile(blobKey),
    };
  },
  seed: async (database, config) => {
    const round = await seedDemoRound(database.dataSource, config);
    return round ? `dataset round ${round}, built from the S&P 500 history and opened` : null;
  },
};
