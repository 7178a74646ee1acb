import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { DataSource } from 'typeorm';
import { DomainError } from '../../domain-error';
import type { Logger } from '../../logger';
import type { Notifications } from '../../db/notifications';
import { parseApiKey } from './api-key-token';
import { ApiKeyEntity } from './api-key.entity';
import { VendorEntity } from './vendor.entity';
import type { Principal } from './principal';
import { verifySecret } from './password-hash';

/** The channel on which every process hears that a key or a whole vendor stopped working. */
export const REVOCATION_CHANNEL = 'mp_identity_revoked';

/** A key or a vendor whose standing changed (revoked, suspended or reactivated). */
export type Revocation = { apiKeyId: string } | { vendorId: string };

type CachedValidation = { ok: true; principal: Principal } | { ok: false; reason: string };

/** A wrong secret is remembered briefly, so hammering one bad key costs one hash every few seconds. */
const NEGATIVE_TTL_MS = 5_000;

/**
 * Turns a presented API key into a Principal. Results are cached by the SHA-256 of the
 * key (never the key itself) for at most the configured TTL and never past the key's
 * expiry; a revocation on any process clears matching entries everywhere via NOTIFY.
 */
export class KeyValidator {
  private readonly cache: LRUCache<string, CachedValidation>;
  private readonly inFlight = new Map<string, Promise<CachedValidation>>();
  private readonly echoWaiters = new Map<string, () => void>();
  private stopListening?: () => Promise<void>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly notifications: Notifications,
    private readonly log: Logger,
    private readonly ttlMs: number,
  ) {
    this.cache = new LRUCache<string, CachedValidation>({ max: 50_000, ttl: Math.max(ttlMs, 1), ttlAutopurge: false });
  }

  async start(): Promise<void> {
    this.stopListening = await this.notifications.listen(REVOCATION_CHANNEL, (payload) => this.onRevocation(payload));
    // Revocations sent while our listener was reconnecting were missed: trust nothing cached before.
    this.notifications.onReconnect(() => {
      this.epoch += 1;
      this.cache.clear();
    });
  }

  async stop(): Promise<void> {
    await this.stopListening?.();
  }

  async authenticate(token: string): Promise<Principal> {
    const parsed = parseApiKey(token);
    if (!parsed.ok) throw new DomainError('UNAUTHENTICATED', parsed.reason);

    const cacheKey = createHash('sha256').update(token).digest('hex');
    const cached = this.cache.get(cacheKey);
    const result = cached ?? (await this.validateOnce(cacheKey, parsed.lookup, token));
    if (!result.ok) throw new DomainError('UNAUTHENTICATED', result.reason);
    if (result.principal.expiresAt && result.principal.expiresAt.getTime() <= Date.now()) {
      this.cache.delete(cacheKey);
      throw new DomainError('UNAUTHENTICATED', `API key expired at ${result.principal.expiresAt.toISOString()}: create a new one`);
    }
    return result.principal;
  }

  /**
   * Tell every process that a key or vendor stopped working, through `query` (a
   * transaction's manager: the message goes out on commit). Call `awaitEcho` after the
   * commit to know the notification has gone round.
   */
  async announce(query: { query(sql: string, parameters?: unknown[]): Promise<unknown> }, revocation: Revocation): Promise<string> {
    const payload = JSON.stringify({ ...revocation, nonce: createHash('sha256').update(`${Date.now()}${Math.random()}`).digest('hex').slice(0, 16) });
    await this.notifications.notify(query, REVOCATION_CHANNEL, payload);
    return payload;
  }

  /**
   * Wait until this process hears its own announcement back from Postgres (or a short
   * time passes). Postgres delivers a notification to every listener at once, so by then
   * the other processes have it too, and the caller's next request fails on any of them.
   */
  async awaitEcho(payload: string, timeoutMs = 1_000): Promise<void> {
    this.forget(JSON.parse(payload) as Revocation);
    if (this.heard.has(payload)) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.echoWaiters.delete(payload);
        resolve();
      }, timeoutMs);
      this.echoWaiters.set(payload, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private readonly heard = new LRUCache<string, true>({ max: 1000 });

  private onRevocation(payload: string): void {
    this.heard.set(payload, true);
    try {
      this.forget(JSON.parse(payload) as Revocation);
    } catch (error) {
      this.log.warn({ err: error }, 'ignoring a malformed revocation notification');
    }
    const waiter = this.echoWaiters.get(payload);
    if (waiter) {
      this.echoWaiters.delete(payload);
      waiter();
    }
  }

  /** Bumped by every revocation: a validation that started before one is not cached. */
  private epoch = 0;

  private forget(revocation: Revocation): void {
    this.epoch += 1;
    for (const [key, entry] of this.cache.entries()) {
      // Remembered refusals go too: the change may be a reactivation that makes them wrong.
      if (!entry.ok) {
        this.cache.delete(key);
        continue;
      }
      const matches = 'apiKeyId' in revocation
        ? entry.principal.apiKeyId === revocation.apiKeyId
        : entry.principal.vendorId === revocation.vendorId;
      if (matches) this.cache.delete(key);
    }
  }

  /** Concurrent requests with the same uncached key share one database lookup and one hash. */
  private validateOnce(cacheKey: string, lookup: string, token: string): Promise<CachedValidation> {
    let pending = this.inFlight.get(cacheKey);
    if (!pending) {
      const startedAt = this.epoch;
      pending = this.validate(lookup, token)
        .then((result) => {
          // A revocation that landed while this was hashing may have been about this very key.
          if (this.epoch === startedAt) this.remember(cacheKey, result);
          return result;
        })
        .finally(() => this.inFlight.delete(cacheKey));
      this.inFlight.set(cacheKey, pending);
    }
    return pending;
  }

  private remember(cacheKey: string, result: CachedValidation): void {
    if (!result.ok) {
      this.cache.set(cacheKey, result, { ttl: Math.min(NEGATIVE_TTL_MS, this.ttlMs || 1) });
      return;
    }
    const untilExpiry = result.principal.expiresAt ? result.principal.expiresAt.getTime() - Date.now() : Infinity;
    const ttl = Math.min(this.ttlMs, untilExpiry);
    if (ttl > 0) this.cache.set(cacheKey, result, { ttl });
  }

  private async validate(lookup: string, token: string): Promise<CachedValidation> {
    const row = await this.dataSource
      .getRepository(ApiKeyEntity)
      .createQueryBuilder('key')
      .leftJoinAndMapOne('key.vendor', VendorEntity, 'vendor', 'vendor.id = key.vendor_id')
      .where('key.lookup = :lookup', { lookup })
      .getOne() as (ApiKeyEntity & { vendor?: VendorEntity }) | null;

    if (!row) return { ok: false, reason: 'invalid API key: it does not exist (it may have been deleted)' };
    if (!(await verifySecret(row.secretHash, token))) return { ok: false, reason: 'invalid API key' };
    if (row.revokedAt) return { ok: false, reason: `API key revoked at ${row.revokedAt.toISOString()}: create a new one or log in with another` };
    if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) {
      return { ok: false, reason: `API key expired at ${row.expiresAt.toISOString()}: create a new one` };
    }
    if (row.vendor && row.vendor.status !== 'ACTIVE') {
      return { ok: false, reason: 'this vendor account is suspended: contact the marketplace operator' };
    }

    this.touch(row.id);
    return { ok: true, principal: { role: row.role, vendorId: row.vendorId, apiKeyId: row.id, expiresAt: row.expiresAt } };
  }

  /** lastUsedAt is refreshed on each cache miss (at most once a TTL per key and process), off the request path. */
  private touch(apiKeyId: string): void {
    this.dataSource
      .query(`UPDATE api_keys SET last_used_at = now() WHERE id = $1`, [apiKeyId])
      .catch((error: unknown) => this.log.warn({ err: error, apiKeyId }, 'could not record API key use'));
  }
}
