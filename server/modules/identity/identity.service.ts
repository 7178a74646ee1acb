import { LRUCache } from 'lru-cache';
import { In, IsNull, type DataSource, type EntityManager } from 'typeorm';
import { DomainError, badInput, type FieldProblem } from '../../domain-error';
import { newId } from '../../db/ids';
import { API_KEY_ID_PREFIX, VENDOR_ID_PREFIX } from './ids';
import { decodeCursor, pageSize, toConnection, type Connection } from '../../db/pagination';
import { ApiKeyEntity } from './api-key.entity';
import { VendorEntity } from './vendor.entity';
import { apiKeyFormat } from './api-key-token';
import { hashSecret } from '../../tokens/secret-hash';
import type { KeyValidator } from './key-validator';
import type { Principal, Role } from './principal';
import type { VendorStatus } from './vendor.entity';

export interface CreatedKey {
  apiKey: ApiKeyEntity;
  secret: string;
}

export interface CreatedVendor extends CreatedKey {
  vendor: VendorEntity;
}

const MAX_KEYS_PER_VENDOR = 50;
const HANDLE_PATTERN = /^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$/;

/** Vendors, API keys and who may do what with them. */
export class IdentityService {
  /** Vendor rows for display (catalog pages name their vendors), kept briefly; a change here drops the entry. */
  private readonly vendors = new LRUCache<string, VendorEntity>({ max: 10_000, ttl: 5_000 });

  constructor(
    private readonly dataSource: DataSource,
    private readonly keys: KeyValidator,
  ) {}

  requirePrincipal(principal: Principal | null): Principal {
    if (!principal) {
      throw new DomainError('UNAUTHENTICATED', 'an API key is required: send `Authorization: Bearer vk_...` (run `mp login`)');
    }
    return principal;
  }

  requireAdmin(principal: Principal | null): Principal {
    const caller = this.requirePrincipal(principal);
    if (caller.role !== 'ADMIN') throw new DomainError('FORBIDDEN', 'this operation needs an operator (admin) key');
    return caller;
  }

  requireVendor(principal: Principal | null): Principal & { vendorId: string } {
    const caller = this.requirePrincipal(principal);
    if (!caller.vendorId) throw new DomainError('FORBIDDEN', 'this operation needs a vendor key, not an admin key');
    return caller as Principal & { vendorId: string };
  }

  async apiKeyOf(principal: Principal): Promise<ApiKeyEntity> {
    const key = await this.dataSource.getRepository(ApiKeyEntity).findOneBy({ id: principal.apiKeyId });
    if (!key) throw new DomainError('UNAUTHENTICATED', 'this API key no longer exists');
    return key;
  }

  async listApiKeys(
    principal: Principal | null,
    args: { first?: number | null; after?: string | null; includeRevoked?: boolean | null },
  ): Promise<Connection<ApiKeyEntity>> {
    const caller = this.requirePrincipal(principal);
    const size = pageSize(args.first);
    const after = decodeCursor(args.after, ['time', 'text']) as [string, string] | undefined;
    const query = this.dataSource.getRepository(ApiKeyEntity).createQueryBuilder('key');
    if (caller.vendorId) query.where('key.vendor_id = :vendorId', { vendorId: caller.vendorId });
    else query.where('key.vendor_id IS NULL');
    if (!args.includeRevoked) query.andWhere('key.revoked_at IS NULL');
    const totalCount = await query.clone().getCount();
    if (after) query.andWhere('(key.created_at, key.id) < (:createdAt, :id)', { createdAt: after[0], id: after[1] });
    const rows = await query
      .orderBy('key.created_at', 'DESC')
      .addOrderBy('key.id', 'DESC')
      .take(size + 1)
      .getMany();
    return toConnection(rows, size, totalCount, (key) => [key.createdAt.toISOString(), key.id], Boolean(after));
  }

  async createApiKey(principal: Principal | null, input: { name: string; expiresAt?: Date | null }): Promise<CreatedKey> {
    const caller = this.requirePrincipal(principal);
    const name = validateKeyName(input.name);
    const expiresAt = validateExpiry(input.expiresAt);
    return this.dataSource.transaction(async (manager) => {
      if (caller.vendorId) {
        const active = await manager.getRepository(ApiKeyEntity).countBy({ vendorId: caller.vendorId, revokedAt: IsNull() });
        if (active >= MAX_KEYS_PER_VENDOR) {
          throw new DomainError(
            'PRECONDITION_FAILED',
            `a vendor may hold at most ${MAX_KEYS_PER_VENDOR} keys: revoke unused ones first (mp keys list, mp keys revoke)`,
          );
        }
      }
      return insertKey(manager, { vendorId: caller.vendorId, role: caller.role, name, expiresAt });
    });
  }

  async revokeApiKey(principal: Principal | null, id: string): Promise<ApiKeyEntity> {
    const caller = this.requirePrincipal(principal);
    let announcement = '';
    const key = await this.dataSource.transaction(async (manager) => {
      const repository = manager.getRepository(ApiKeyEntity);
      const found = await repository.createQueryBuilder('key').setLock('pessimistic_write').where('key.id = :id', { id }).getOne();
      // Another vendor's key, or a vendor asking about an admin key, is simply not there.
      if (!found || found.vendorId !== caller.vendorId) throw new DomainError('NOT_FOUND', `no API key ${id} among yours (see mp keys list)`);
      if (found.revokedAt) return found;
      found.revokedAt = new Date();
      await repository.update({ id }, { revokedAt: found.revokedAt });
      announcement = await this.keys.announce(manager, { apiKeyId: id });
      return found;
    });
    if (announcement) await this.keys.awaitEcho(announcement);
    return key;
  }

  async vendorById(id: string): Promise<VendorEntity | null> {
    return (await this.vendorsByIds([id]))[0];
  }

  async vendorsByIds(ids: readonly string[]): Promise<(VendorEntity | null)[]> {
    const missing = ids.filter((id) => !this.vendors.has(id));
    if (missing.length > 0) {
      for (const vendor of await this.dataSource.getRepository(VendorEntity).findBy({ id: In(missing) })) this.vendors.set(vendor.id, vendor);
    }
    return ids.map((id) => this.vendors.get(id) ?? null);
  }

  async findVendor(principal: Principal | null, args: { id?: string | null; handle?: string | null }): Promise<VendorEntity | null> {
    this.requireAdmin(principal);
    if (Boolean(args.id) === Boolean(args.handle)) throw badInput('id', 'pass exactly one of id or handle');
    const repository = this.dataSource.getRepository(VendorEntity);
    return args.id ? repository.findOneBy({ id: args.id }) : repository.findOneBy({ handle: args.handle ?? '' });
  }

  /** Operator bootstrap and the createVendor mutation: a vendor and its first key, in one transaction. */
  async createVendor(input: { displayName: string; email: string; handle?: string | null }): Promise<CreatedVendor> {
    const displayName = input.displayName.trim();
    const problems: FieldProblem[] = [];
    if (displayName.length < 2 || displayName.length > 100) problems.push({ field: 'displayName', message: 'must be 2 to 100 characters' });
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(input.email)) problems.push({ field: 'email', message: 'must be an e-mail address' });
    const handle = input.handle ? input.handle.trim() : handleFrom(displayName);
    if (!HANDLE_PATTERN.test(handle)) {
      const rule = '3 to 40 lowercase letters, digits and dashes, starting and ending with a letter or digit';
      problems.push({
        field: 'handle',
        message: input.handle ? rule : `derived from the name as "${handle}", which is not ${rule}: pass a handle explicitly`,
      });
    }
    if (problems.length > 0) {
      throw new DomainError('BAD_USER_INPUT', problems.map((problem) => `${problem.field}: ${problem.message}`).join('; '), { fields: problems });
    }
    return this.dataSource.transaction(async (manager) => {
      const repository = manager.getRepository(VendorEntity);
      if (await repository.existsBy({ handle })) {
        throw new DomainError('CONFLICT', `the handle ${handle} is taken: pass another one`, { fields: [{ field: 'handle', message: 'is taken' }] });
      }
      const vendor = repository.create({
        id: newId(VENDOR_ID_PREFIX),
        handle,
        displayName,
        email: input.email.trim().toLowerCase(),
        status: 'ACTIVE',
        suspendedReason: null,
        createdAt: new Date(),
      });
      await repository.insert(vendor);
      const key = await insertKey(manager, { vendorId: vendor.id, role: 'VENDOR', name: 'first key', expiresAt: null });
      return { vendor, ...key };
    });
  }

  /** Operator bootstrap: an admin key (no vendor). */
  async createAdminKey(name: string): Promise<CreatedKey> {
    const validName = validateKeyName(name);
    return this.dataSource.transaction((manager) => insertKey(manager, { vendorId: null, role: 'ADMIN', name: validName, expiresAt: null }));
  }

  async setVendorStatus(principal: Principal | null, id: string, status: VendorStatus, reason?: string | null): Promise<VendorEntity> {
    this.requireAdmin(principal);
    let announcement = '';
    const vendor = await this.dataSource.transaction(async (manager) => {
      const repository = manager.getRepository(VendorEntity);
      const found = await repository.findOneBy({ id });
      if (!found) throw new DomainError('NOT_FOUND', `no vendor ${id}`);
      found.status = status;
      found.suspendedReason = status === 'SUSPENDED' ? (reason ?? null) : null;
      await repository.update({ id }, { status: found.status, suspendedReason: found.suspendedReason });
      announcement = await this.keys.announce(manager, { vendorId: id });
      this.vendors.delete(id);
      return found;
    });
    if (announcement) await this.keys.awaitEcho(announcement);
    return vendor;
  }
}

async function insertKey(manager: EntityManager, fields: { vendorId: string | null; role: Role; name: string; expiresAt: Date | null }): Promise<CreatedKey> {
  const { lookup, token } = apiKeyFormat.generate();
  const repository = manager.getRepository(ApiKeyEntity);
  const apiKey = repository.create({
    id: `${API_KEY_ID_PREFIX}_${lookup}`,
    lookup,
    vendorId: fields.vendorId,
    role: fields.role,
    name: fields.name,
    secretHash: await hashSecret(token),
    createdAt: new Date(),
    expiresAt: fields.expiresAt,
    lastUsedAt: null,
    revokedAt: null,
  });
  await repository.insert(apiKey);
  return { apiKey, secret: token };
}

function validateKeyName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > 64) throw badInput('name', 'must be 1 to 64 characters');
  return trimmed;
}

function validateExpiry(expiresAt: Date | null | undefined): Date | null {
  if (!expiresAt) return null;
  if (expiresAt.getTime() <= Date.now()) throw badInput('expiresAt', 'must be in the future');
  if (expiresAt.getTime() > Date.now() + 5 * 365 * 24 * 3600 * 1000) throw badInput('expiresAt', 'must be within 5 years');
  return expiresAt;
}

/** "Acme Quant Lab" -> "acme-quant-lab". */
export function handleFrom(displayName: string): string {
  return displayName
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/g, '');
}
