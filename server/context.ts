import DataLoader from 'dataloader';
import { In, type DataSource } from 'typeorm';
import type { Logger } from './logger';
import type { Principal } from './modules/identity/principal';
import type { IdentityService } from './modules/identity/identity.service';
import type { KeyValidator } from './modules/identity/key-validator';
import type { CatalogService } from './modules/catalog/catalog.service';
import { VendorEntity } from './modules/identity/vendor.entity';

/** Long-lived, shared by every request of a process. */
export interface Services {
  identity: IdentityService;
  catalog: CatalogService;
  keys: KeyValidator;
  server: { version: string; database: 'EMBEDDED' | 'POSTGRES' };
}

/** Per-request batching, so a page of models costs one vendor query, not one per row. */
export interface Loaders {
  vendorById: DataLoader<string, VendorEntity | null>;
}

export interface GraphQLContext {
  requestId: string;
  principal: Principal | null;
  services: Services;
  loaders: Loaders;
  log: Logger;
}

export function createLoaders(dataSource: DataSource): Loaders {
  return {
    vendorById: new DataLoader(async (ids: readonly string[]) => {
      const vendors = await dataSource.getRepository(VendorEntity).findBy({ id: In([...ids]) });
      const byId = new Map(vendors.map((vendor) => [vendor.id, vendor]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
  };
}
