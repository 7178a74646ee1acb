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
import { PortfolioService } from './portfolio';
import { liveStateLoader, type LiveState } from './live-status';
import { ModelRegistration } from './registration';
import { signalsResolvers } from './resolvers';
import { SignalStore } from './signal-store';
import { seedDemoScores } from './demo-round';
import { SignalFeed } from './signal-feed';
import { SignalReads } from './signal-reads';
import { ensureSignalPartitions } from './signal-partitions';
import { SCORES_CHANNEL } from './round-scoring/round-scorer';
import { ScoreReads, type RoundScoresView } from './round-scoring/score-reads';
import { ScoringQueue } from './round-scoring/scoring-queue';

declare module '../../context' {
  interface Loaders {
    liveStateByDeployment: DataLoader<string, LiveState>;
    latestScoresByModel: DataLoader<string, RoundScoresView | null>;
  }
  interface Services {
    modelRegistration: ModelRegistration;
    consensus: ConsensusService;
    catalogFeed: CatalogFeed;
    signalStore: SignalStore;
    signalReads: SignalReads;
    signalFeed: SignalFeed;
    scoreReads: ScoreReads;
    scoringQueue: ScoringQueue;
    portfolio: PortfolioService;
  }
}

export const signalsModule: MarketplaceModule = {
  name: 'signals',
  resolvers: signalsResolvers,
  entities: [],
  seed: (database, config) => seedDemoScores(database, config),
  create({ database, log, schedule }, services) {
    const store = new SignalStore(database.dataSource, database.notifications);
    const feed = new SignalFeed(database.dataSource, database.notifications, log);
    const catalogFeed = new CatalogFeed(database.dataSource, database.notifications, log);
    const registration = new ModelRegistration(database.dataSource, database.notifications, services.deployments, services.trainingRuns);
    const scoreReads = new ScoreReads(database.dataSource);
    const consensus = new ConsensusService(database.dataSource);
    const scoringQueue = new ScoringQueue(database.dataSource, database.notifications, services.datasets, log);
    schedule.every('signal-partitions', 6 * 3600_000, () => ensureSignalPartitions(database.dataSource, log));
    return {
      services: {
        modelRegistration: registration,
        consensus,
        portfolio: new PortfolioService(database.dataSource, services.datasets, consensus),
        catalogFeed,
        signalStore: store,
        signalReads: new SignalReads(database.dataSource),
        signalFeed: feed,
        scoreReads,
        scoringQueue,
      },
      loaders: () => ({ liveStateByDeployment: liveStateLoader(database.dataSource), latestScoresByModel: scoreReads.latestLoader() }),
      // A listing's LIVE or OFFLINE follows its deployment's health; its scores, the round's scoring.
      publicCacheChannels: [DEPLOYMENT_CHANNEL, SCORES_CHANNEL],
      startWorkers: () => scoringQueue.start(),
      stopWorkers: () => scoringQueue.stop(),
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
