/** Catalog: the public listing of vendors' models, readable without a key. */
import type { MarketplaceModule } from '../module';
import { catalogResolvers } from './resolvers';
import { CATALOG_CHANNEL, CatalogService } from './catalog.service';
import { CatalogModelEntity } from './catalog-model.entity';
import { CATALOG_MODEL_ID_PREFIX } from './ids';
import { seedDemoCatalog } from './demo-catalog';

declare module '../../context' {
  interface Services {
    catalog: CatalogService;
  }
}

export const catalogModule: MarketplaceModule = {
  name: 'catalog',
  resolvers: catalogResolvers,
  entities: [CatalogModelEntity],
  nodes: {
    [CATALOG_MODEL_ID_PREFIX]: { typename: 'CatalogModel', load: (id, { services }) => services.catalog.byId(id) },
  },
  create({ database }) {
    const catalog = new CatalogService(database.dataSource, database.notifications);
    return {
      services: { catalog },
      publicCacheChannels: [CATALOG_CHANNEL],
      start: () => catalog.start(),
      stop: () => catalog.stop(),
    };
  },
  seed: async (database) => ((await seedDemoCatalog(database.dataSource)) ? 'demo vendors and catalog models' : null),
};
