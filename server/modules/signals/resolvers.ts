import type { Resolvers } from '../../../generated/server-types';
import type { CatalogModelEntity } from '../catalog/catalog-model.entity';
import { liveStateOfListing } from './live-status';
import { readableVendor, type StoredSignal } from './signal-reads';

/** GraphQL's DateTime arrives as a Date; the store checks signals as the HTTP route gets them, with ISO strings. */
function asJson(signal: { asOf: unknown }): unknown {
  return { ...signal, asOf: signal.asOf instanceof Date ? signal.asOf.toISOString() : signal.asOf };
}

export const signalsResolvers: Resolvers = {
  Query: {
    consensus: (_parent, args, { principal, services }) => services.consensus.compute(principal, args),
    signals: (_parent, args, { principal, services }) => services.signalReads.list(principal, args),
    leaderboard: (_parent, args, { services }) => services.scoreReads.leaderboard(args),
    modelPerformance: async (_parent, args, { services }) => {
      const model = await services.catalog.get({ id: args.modelId, slug: args.slug });
      return { model, rounds: await services.scoreReads.performance(model.id) };
    },
    optimizePortfolio: (_parent, args, { principal, services }) => services.portfolio.optimize(principal, args),
    roundScoring: (_parent, { round }, { principal, services }) => services.scoringQueue.status(principal, round),
  },

  Mutation: {
    scoreRound: (_parent, { round }, { principal, services }) => services.scoringQueue.request(principal, round),
    registerModel: (_parent, { input }, { principal, services }) => services.modelRegistration.register(principal, input),
    unregisterModel: (_parent, args, { principal, services }) => services.modelRegistration.unregister(principal, args),
    writeSignals: (_parent, { signals }, { deployment, services, idempotencyKey }) =>
      services.signalStore.write(deployment, signals.map(asJson), idempotencyKey),
    pushSignals: (_parent, { model, signals }, { principal, services, idempotencyKey }) =>
      services.signalStore.push(principal, model, signals.map(asJson), idempotencyKey),
  },

  Subscription: {
    catalogUpdated: {
      subscribe: (_parent, _args, { services }) => services.catalogFeed.follow(),
      resolve: (model: CatalogModelEntity) => model,
    },
    signalWritten: {
      subscribe: (_parent, { symbols }, { principal, services }) => services.signalFeed.follow(readableVendor(principal), symbols),
      resolve: (signal: StoredSignal) => signal,
    },
  },

  CatalogModel: {
    latestScores: (model, _args, { loaders }) => loaders.latestScoresByModel.load(model.id),
    liveStatus: async (model, _args, { loaders }) => (await liveStateOfListing(model, loaders.liveStateByDeployment)).status,
    liveSince: async (model, _args, { loaders }) => (await liveStateOfListing(model, loaders.liveStateByDeployment)).since,
    // Which deployment serves a model is its vendor's business.
    deployment: (model, _args, { principal, services }) =>
      model.deploymentId && principal?.vendorId === model.vendorId ? services.deployments.get(principal, model.deploymentId).catch(() => null) : null,
  },

  Leaderboard: {
    edges: (board, _args, { services }) => board.entries.map((node, index) => ({ cursor: services.scoreReads.cursorAt(board.offset + index + 1), node })),
    nodes: (board) => board.entries,
    pageInfo: (board, _args, { services }) => ({
      hasNextPage: board.hasNextPage,
      hasPreviousPage: board.offset > 0,
      startCursor: board.entries.length ? services.scoreReads.cursorAt(board.offset + 1) : null,
      endCursor: board.entries.length ? services.scoreReads.cursorAt(board.offset + board.entries.length) : null,
    }),
  },

  Portfolio: {
    annualizedExpectedReturn: (portfolio) => portfolio.annualized.expectedReturn,
    annualizedRisk: (portfolio) => portfolio.annualized.risk,
    inputs: ({ inputs, round, models }) => ({
      round,
      riskAversion: inputs.riskAversion,
      constraints: inputs.constraints,
      historyFrom: inputs.history.firstDate,
      historyTo: inputs.history.lastDate,
      returns: inputs.history.returns,
      covarianceMethod: inputs.covariance.method,
      shrinkage: inputs.covariance.shrinkage,
      expectedReturnsMethod: inputs.expectedReturns.method,
      informationCoefficient: inputs.expectedReturns.informationCoefficient,
      solver: inputs.solver.name,
      symbols: inputs.expectedReturns.symbols.map((symbol, i) => ({ ...symbol, models: models[i] })),
    }),
  },

  LeaderboardEntry: {
    model: async (entry, _args, { services }) => (await services.catalog.byId(entry.modelId))!,
    vendor: async (entry, _args, { loaders }) => (await loaders.vendorById.load(entry.vendorId))!,
  },

  ConsensusContribution: {
    model: async (contribution, _args, { services }) => (await services.catalog.byId(contribution.modelId))!,
    vendor: async (contribution, _args, { loaders }) => (await loaders.vendorById.load(contribution.vendorId))!,
  },

  Signal: {
    vendor: async (signal, _args, { loaders }) => (await loaders.vendorById.load(signal.vendorId))!,
  },
};
