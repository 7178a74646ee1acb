import type { Resolvers } from '../../../generated/server-types';

export const datasetsResolvers: Resolvers = {
  Query: {
    rounds: (_parent, args, { principal, services }) => services.datasets.list(principal, args),
    round: (_parent, { number }, { principal, services }) => services.datasets.get(principal, number),
    currentRound: (_parent, _args, { services }) => services.datasets.current(),
  },

  Mutation: {
    openRound: (_parent, { number }, { principal, services }) => services.datasets.changeStatus(principal, number, 'OPEN'),
    closeRound: (_parent, { number }, { principal, services }) => services.datasets.changeStatus(principal, number, 'CLOSED'),
    resolveRound: (_parent, { number, pricesCsv, symbol }, { principal, services }) => services.datasets.resolveFromCsv(principal, number, pricesCsv, symbol),
  },

  DatasetRound: {
    files: (round, _args, { loaders }) => loaders.filesByRound.load(round.number),
  },

  DatasetFile: {
    downloadUrl: (file, { expiresInSeconds }, { principal, services, links }) => services.datasets.downloadUrl(principal, file, expiresInSeconds, links),
  },
};
