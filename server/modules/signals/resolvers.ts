import type { Resolvers } from '../../../generated/server-types';
import { readableVendor, type StoredSignal } from './signal-reads';

/** GraphQL's DateTime arrives as a Date; the store checks signals as the HTTP route gets them, with ISO strings. */
function asJson(signal: { asOf: unknown }): unknown {
  return { ...signal, asOf: signal.asOf instanceof Date ? signal.asOf.toISOString() : signal.asOf };
}

export const signalsResolvers: Resolvers = {
  Query: {
    signals: (_parent, args, { principal, services }) => services.signalReads.list(principal, args),
  },

  Mutation: {
    writeSignals: (_parent, { signals }, { deployment, services, idempotencyKey }) =>
      services.signalStore.write(deployment, signals.map(asJson), idempotencyKey),
  },

  Subscription: {
    signalWritten: {
      subscribe: (_parent, { symbols }, { principal, services }) => services.signalFeed.follow(readableVendor(principal), symbols),
      resolve: (signal: StoredSignal) => signal,
    },
  },

  Signal: {
    vendor: async (signal, _args, { loaders }) => (await loaders.vendorById.load(signal.vendorId))!,
  },
};
