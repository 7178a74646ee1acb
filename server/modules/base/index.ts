/** Base: the scalars, `serverInfo` and the `serverTime` subscription; no tables of its own. */
import type { MarketplaceModule } from '../module';
import { baseResolvers } from './resolvers';

export const baseModule: MarketplaceModule = {
  name: 'base',
  resolvers: baseResolvers,
  entities: [],
  create: () => ({ services: {} }),
};
