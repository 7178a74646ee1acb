/**
 * Signals: the store every deployment writes its predictions to (attributed to vendor, deployment
 * and model), reads and a live feed of it for the trading side; later the consensus, the
 * optimizer and scoring.
 */
import type { MarketplaceModule } from '../module';
import { signalsResolvers } from './resolvers';
import { SignalStore } from './signal-store';
import { SignalFeed } from './signal-feed';
import { SignalReads } from './signal-reads';
import { ensureSignalPartitions } from './signal-partitions';

declare module '../../context' {
  interface Services {
    signalStore: SignalStore;
    signalReads: SignalReads;
    signalFeed: SignalFeed;
  }
}

export const signalsModule: MarketplaceModule = {
  name: 'signals',
  resolvers: signalsResolvers,
  entities: [],
  create({ database, log, schedule }) {
    const store = new SignalStore(database.dataSource, database.notifications);
    const feed = new SignalFeed(database.dataSource, database.notifications, log);
    schedule.every('signal-partitions', 6 * 3600_000, () => ensureSignalPartitions(database.dataSource, log));
    return {
      services: { signalStore: store, signalReads: new SignalReads(database.dataSource), signalFeed: feed },
      start: async () => {
        await ensureSignalPartitions(database.dataSource, log);
        await feed.start();
      },
      stop: () => feed.stop(),
    };
  },
};
