import type { Resolvers } from '../../../generated/server-types';
import { DomainError } from '../../domain-error';

export const catalogResolvers: Resolvers = {
  Query: {
    catalog: (_parent, args, { services }) => services.catalog.list(args),
    catalogModel: (_parent, args, { services }) => services.catalog.get(args),
  },

  CatalogModel: {
    vendor: async (model, _args, { loaders }) => {
      const vendor = await loaders.vendorById.load(model.vendorId);
      if (!vendor) throw new DomainError('NOT_FOUND', `the vendor of ${model.slug} no longer exists`);
      return vendor;
    },
  },
};
