import { DateTimeResolver, EmailAddressResolver } from 'graphql-scalars';
import type { Resolvers, ServerTick } from '../../../generated/server-types';
import { badInput } from '../../domain-error';

export const baseResolvers: Resolvers = {
  DateTime: DateTimeResolver,
  EmailAddress: EmailAddressResolver,

  Query: {
    serverInfo: (_parent, _args, { services }) => ({ version: services.server.version, time: new Date(), database: services.server.database }),
  },

  Subscription: {
    serverTime: {
      subscribe: (_parent, { intervalSeconds }) => {
        if (intervalSeconds < 1 || intervalSeconds > 60) throw badInput('intervalSeconds', 'must be between 1 and 60');
        return clock(intervalSeconds * 1000);
      },
      resolve: (tick: ServerTick) => tick,
    },
  },
};

/**
 * Ticks until the subscriber goes away. A hand-written iterator rather than a generator:
 * graphql-ws calls return() when the client stops, and that must clear the pending timer
 * at once (a generator would wait out its sleep first).
 */
function clock(intervalMs: number): AsyncIterableIterator<ServerTick> {
  let sequence = 0;
  let timer: NodeJS.Timeout | undefined;
  let wake: ((result: IteratorResult<ServerTick>) => void) | undefined;
  let stopped = false;
  const tick = (): IteratorResult<ServerTick> => ({ done: false, value: { __typename: 'ServerTick', time: new Date(), sequence: ++sequence } });
  return {
    next() {
      if (stopped) return Promise.resolve({ done: true, value: undefined });
      if (sequence === 0) return Promise.resolve(tick());
      return new Promise((resolve) => {
        wake = resolve;
        timer = setTimeout(() => resolve(tick()), intervalMs);
      });
    },
    return() {
      stopped = true;
      clearTimeout(timer);
      wake?.({ done: true, value: undefined });
      return Promise.resolve({ done: true, value: undefined });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
