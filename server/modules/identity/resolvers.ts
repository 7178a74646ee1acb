import type { Resolvers } from '../../../generated/server-types';
import type { ApiKeyEntity } from './api-key.entity';
import { apiKeyFormat } from './api-key-token';

export const identityResolvers: Resolvers = {
  Query: {
    me: (_parent, _args, { principal, services }) => services.identity.requirePrincipal(principal),
    apiKeys: (_parent, args, { principal, services }) => services.identity.listApiKeys(principal, args),
    vendor: (_parent, args, { principal, services }) => services.identity.findVendor(principal, args),
    sessions: (_parent, args, { principal, services }) => services.sessions.list(principal, args),
  },

  Mutation: {
    createApiKey: (_parent, { input }, { principal, services }) => services.identity.createApiKey(principal, input),
    revokeApiKey: (_parent, { id }, { principal, services }) => services.identity.revokeApiKey(principal, id),
    revokeSession: (_parent, { id }, { principal, services }) => services.sessions.revoke(principal, id),
    createVendor: (_parent, { input }, { principal, services }) => {
      services.identity.requireAdmin(principal);
      return services.identity.createVendor(input);
    },
    suspendVendor: (_parent, { id, reason }, { principal, services }) => services.identity.setVendorStatus(principal, id, 'SUSPENDED', reason),
    reactivateVendor: (_parent, { id }, { principal, services }) => services.identity.setVendorStatus(principal, id, 'ACTIVE'),
  },

  Me: {
    role: (principal) => principal.role,
    vendor: (principal, _args, { loaders }) => (principal.vendorId ? loaders.vendorById.load(principal.vendorId) : null),
    apiKey: (principal, _args, { services }) => services.identity.apiKeyOf(principal),
  },

  Vendor: {
    // Contact details are for the vendor itself and the operator only.
    email: (vendor, _args, { principal }) => (principal?.role === 'ADMIN' || principal?.vendorId === vendor.id ? vendor.email : null),
  },

  Session: {
    id: (view) => view.session.id,
    createdAt: (view) => view.session.createdAt,
    expiresAt: (view) => view.session.expiresAt,
    userAgent: (view) => view.session.userAgent,
    apiKeyId: (view) => view.session.apiKeyId,
  },

  ApiKey: {
    prefix: (key) => apiKeyFormat.displayPrefix(key.lookup),
    status: (key: ApiKeyEntity) => {
      if (key.revokedAt) return 'REVOKED';
      if (key.expiresAt && key.expiresAt.getTime() <= Date.now()) return 'EXPIRED';
      return 'ACTIVE';
    },
  },
};
