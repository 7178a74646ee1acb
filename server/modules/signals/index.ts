/**
 * Signals: registering a deployed model in the catalog (mp register), the store every deployment
 * writes its predictions to (attributed to vendor, deployment and model), reads and a live feed
 * of it for the trading side; later the consensus, the optimizer and scoring.
 */
import type DataLoader from 'dataloader';
import type { MarketplaceModule } from '../module';
import { DEPLOYMENT_CHANNEL } from '../deployments/lifecycle';
import { CatalogFeed } from './catalog-feed';
import { ConsensusService } from './consensus';
import { liveStateLoader, type LiveState } from './live-status';
import { ModelRegistration } from './registration';
import { signalsResolvers } from './resolvers';
import { SignalStore } from './signal-store';
import { SignalFeed } from './signal-feed';
import { SignalReads } from './signal-reads';
import { ensureSignalPartitions } from './signal-partitions';

declare module '../../context' {
  interface Loaders {
    liveStateByDeployment: DataLoader<string, LiveState>;
  }
  interface Services {
    modelRegistration: ModelRegistration;
    consensus: ConsensusService;
    catalogFeed: CatalogFeed;
    signalStore: SignalStore;
    signalReads: SignalReads;
    signalFeed: SignalFeed;
  }
}

export const signalsModule: MarketplaceModule = {
  name: 'signals',
  resolvers: signalsResolvers,
  entities: [],
  create({ database, log, schedule }, services) {
    const store = new SignalStore(database.dataSource, database.notifications);
    const feed = new SignalFeed(database.dataSource, database.notifications, log);
    const catalogFeed = new CatalogFeed(database.dataSource, database.notifications, log);
    const registration = new ModelRegistration(database.dataSource, database.notifications, services.deployments, services.trainingRuns);
    schedule.every('signal-partitions', 6 * 3600_000, () => ensureSignalPartitions(database.dataSource, log));
    return {
      services: {
        modelRegistration: registration,
        consensus: new ConsensusService(database.dataSource),
        catalogFeed,
        signalStore: store,
        signalReads: new SignalReads(database.dataSource),
        signalFeed: feed,
      },
      loaders: () => ({ liveStateByDeployment: liveStateLoader(database.dataSource) }),
      // A listing's LIVE or OFFLINE follows its deployment's health.
      publicCacheChannels: [DEPLOYMENT_CHANNEL],
      start: async () => {
        await ensureSignalPartitions(database.dataSource, log);
        await feed.start();
        await catalogFeed.start();
      },
      stop: async () => {
        await feed.stop();
        await catalogFeed.stop();
      },
    };
  },
};
