import { z } from 'zod';
import { DomainError } from '../../domain-error';
import type { CreatedKey, IdentityService } from '../../modules/identity/identity.service';
import { defineAction, type OperatorContext } from '../action';

export interface IssuedKey {
  apiKeyId: string;
  apiKey: string;
}

// The services load when an action runs, not when a command starts: a command that a running server carries out never needs them.
function identityOf({ config, database, log }: OperatorContext): IdentityService {
  const { IdentityService } = require('../../modules/identity/identity.service') as typeof import('../../modules/identity/identity.service');
  const { KeyValidator } = require('../../modules/identity/key-validator') as typeof import('../../modules/identity/key-validator');
  // No validation cache: this service only issues keys.
  return new IdentityService(database.dataSource, new KeyValidator(database.dataSource, database.notifications, log, 0, config.authFailures));
}

function issued(created: CreatedKey): IssuedKey {
  return { apiKeyId: created.apiKey.id, apiKey: created.secret };
}

export const createVendor = defineAction({
  name: 'vendor.create',
  args: z.object({ name: z.string(), email: z.string(), handle: z.string().optional() }),
  async run(context, args) {
    const created = await identityOf(context).createVendor({ displayName: args.name, email: args.email, handle: args.handle });
    return { vendorId: created.vendor.id, handle: created.vendor.handle, displayName: created.vendor.displayName, ...issued(created) };
  },
});

export const createVendorKey = defineAction({
  name: 'vendor.create-key',
  args: z.object({ handle: z.string(), name: z.string() }),
  async run(context, args) {
    const { VendorEntity } = require('../../modules/identity/vendor.entity') as typeof import('../../modules/identity/vendor.entity');
    const vendor = await context.database.dataSource.getRepository(VendorEntity).findOneBy({ handle: args.handle });
    if (!vendor) throw new DomainError('NOT_FOUND', `no vendor with the handle ${args.handle}: check the spelling, or create one with mp-server vendor create`);
    const principal = { role: 'VENDOR' as const, vendorId: vendor.id, apiKeyId: 'operator', expiresAt: null };
    const created = await identityOf(context).createApiKey(principal, { name: args.name });
    return { vendorId: vendor.id, handle: vendor.handle, displayName: vendor.displayName, ...issued(created) };
  },
});

export const createAdminKey = defineAction({
  name: 'admin.create-key',
  args: z.object({ name: z.string() }),
  async run(context, args) {
    return issued(await identityOf(context).createAdminKey(args.name));
  },
});
