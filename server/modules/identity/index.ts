/**
 * Identity: vendors, admin and vendor API keys, and who a request acts for (its Principal).
 * Keys are validated by KeyValidator (cached, revoked on every process at once).
 */
import DataLoader from 'dataloader';
import type { MarketplaceModule } from '../module';
import { identityResolvers } from './resolvers';
import { IdentityService } from './identity.service';
import { KeyValidator, REVOCATION_CHANNEL } from './key-validator';
import { VendorEntity } from './vendor.entity';
import { ApiKeyEntity } from './api-key.entity';
import { SessionEntity } from './session.entity';
import { SessionsService } from './sessions.service';
import { API_KEY_ID_PREFIX, VENDOR_ID_PREFIX } from './ids';

declare module '../../context' {
  interface Services {
    identity: IdentityService;
    keys: KeyValidator;
    sessions: SessionsService;
  }
  interface Loaders {
    vendorById: DataLoader<string, VendorEntity | null>;
  }
}

export const identityModule: MarketplaceModule = {
  name: 'identity',
  resolvers: identityResolvers,
  entities: [VendorEntity, ApiKeyEntity, SessionEntity],
  nodes: {
    [VENDOR_ID_PREFIX]: {
      typename: 'Vendor',
      load: (id, { principal, loaders }) => (principal?.role === 'ADMIN' || principal?.vendorId === id ? loaders.vendorById.load(id) : null),
    },
    [API_KEY_ID_PREFIX]: {
      typename: 'ApiKey',
      load: async (id, { principal, services }) => {
        if (!principal) return null;
        const key = await services.identity.apiKeyOf({ ...principal, apiKeyId: id }).catch(() => null);
        return key && key.vendorId === principal.vendorId ? key : null;
      },
    },
  },
  create({ database, config, log }) {
    const keys = new KeyValidator(database.dataSource, database.notifications, log, config.keyCacheTtlMs, config.authFailures);
    const identity = new IdentityService(database.dataSource, keys);
    const sessions = new SessionsService(database.dataSource, keys);
    return {
      services: { identity, keys, sessions },
      loaders: () => ({ vendorById: new DataLoader((ids: readonly string[]) => identity.vendorsByIds(ids)) }),
      // Cached public answers show vendor names and hide suspended vendors.
      publicCacheChannels: [REVOCATION_CHANNEL],
      start: () => keys.start(),
      stop: () => keys.stop(),
    };
  },
};
