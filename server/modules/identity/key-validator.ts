import type { DataSource } from 'typeorm';
import { DomainError } from '../../domain-error';
import type { Logger } from '../../logger';
import type { Notifications, Queryable } from '../../db/notifications';
import { ValidationCache, type Validation } from '../../tokens/validation-cache';
import { apiKeyFormat } from './api-key-token';
import { ApiKeyEntity } from './api-key.entity';
import { VendorEntity } from './vendor.entity';
import { FailedAttempts, type FailedAttemptLimits } from '../../tokens/failed-attempts';
import type { Principal } from './principal';

/** The channel on which every process hears that a key or a whole vendor stopped working. */
export const REVOCATION_CHANNEL = 'mp_identity_revoked';

/** The one answer for a key that does not exist and for a wrong secret. */
const INVALID_KEY = 'invalid API key: no key matches it (it may have been deleted, or not copied whole)';

/** A key or a vendor whose standing changed (revoked, suspended or reactivated). */
export type Revocation = { apiKeyId: string } | { vendorId: string } | { sessionId: string };

/**
 * Turns a presented API key into a Principal: the format and checksum first (no database
 * work for garbage), then the shared validation cache (server/tokens), then the key's and
 * vendor's standing, the failed-attempt limits and only then the stored argon2id hash.
 */
export class KeyValidator {
  private readonly cache: ValidationCache<Principal>;
  private readonly failures: FailedAttempts;

  constructor(
    private readonly dataSource: DataSource,
    notifications: Notifications,
    private readonly log: Logger,
    ttlMs: number,
    failureLimits: FailedAttemptLimits,
  ) {
    this.failures = new FailedAttempts(dataSource, failureLimits, log, 'key', 'API key');
    this.cache = new ValidationCache<Principal>({
      notifications,
      log,
      ttlMs,
      channel: REVOCATION_CHANNEL,
      matches: (principal, revocation) => {
        if (revocation.sessionId !== undefined) return principal.sessionId === revocation.sessionId;
        return revocation.apiKeyId !== undefined ? principal.apiKeyId === revocation.apiKeyId : principal.vendorId === revocation.vendorId;
      },
      expiredReason: (expiresAt) => `API key expired at ${expiresAt.toISOString()}: create a new one`,
    });
  }

  start(): Promise<void> {
    return this.cache.start();
  }

  stop(): Promise<void> {
    return this.cache.stop();
  }

  /**
   * The principal of `token`, presented from `address` (the client's IP, for the failed-attempt
   * limit; a re-check of an open socket passes none). UNAUTHENTICATED or RATE_LIMITED otherwise.
   */
  async authenticate(token: string, address?: string): Promise<Principal> {
    const parsed = apiKeyFormat.parse(token);
    if (!parsed.ok) throw new DomainError('UNAUTHENTICATED', parsed.reason);
    return this.cache.resolve(token, () => this.validate(parsed.lookup, token, address));
  }

  /** Tell every process, on commit of `query`'s transaction, that a key or vendor stopped working. */
  announce(query: Queryable, revocation: Revocation): Promise<string> {
    return this.cache.announce(query, revocation);
  }

  /** Hear every revocation (null: anything may have changed); see ValidationCache.onRevoked. */
  onRevoked(listener: (revocation: Revocation | null) => void): () => void {
    return this.cache.onRevoked((revocation) => listener(revocation as Revocation | null));
  }

  /** Whether a revocation concerns a principal (its key, or its whole vendor). */
  affects(principal: Principal, revocation: Revocation): boolean {
    return this.cache.affects(principal, revocation);
  }

  /** Wait until the announcement has gone round every process (see ValidationCache.awaitEcho). */
  awaitEcho(payload: string, timeoutMs?: number): Promise<void> {
    return this.cache.awaitEcho(payload, timeoutMs);
  }

  private async validate(lookup: string, token: string, address: string | undefined): Promise<Validation<Principal>> {
    // RATE_LIMITED is thrown, not returned: a refusal for now must not be cached as the token's
    // answer. A client this process knows is past its limit costs no database work at all.
    this.failures.refuseKnownExhausted(lookup, address);
    const row = (await this.dataSource
      .getRepository(ApiKeyEntity)
      .createQueryBuilder('key')
      .leftJoinAndMapOne('key.vendor', VendorEntity, 'vendor', 'vendor.id = key.vendor_id')
      .where('key.lookup = :lookup', { lookup })
      .getOne()) as (ApiKeyEntity & { vendor?: VendorEntity }) | null;

    // The key's own standing next: a revoked, expired or suspended key costs no hash. A key
    // that does not exist and a wrong secret get the same answer, so neither tells which.
    if (!row) {
      await this.failures.pay(null, address);
      return { ok: false, reason: INVALID_KEY };
    }
    const refusal = standingRefusal(row);
    if (refusal) {
      // Cheap (no hash), but a database read: counted against the address like any other attempt.
      await this.failures.pay(null, address);
      return { ok: false, reason: refusal };
    }
    if (!(await this.failures.verifyPaid(lookup, address, row.secretHash, token))) return { ok: false, reason: INVALID_KEY };

    await this.failures.refund(lookup, address);
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

/** Why a key that exists cannot be used (revoked, expired, its vendor suspended), or null. */
function standingRefusal(row: ApiKeyEntity & { vendor?: VendorEntity }): string | null {
  if (row.revokedAt) return `API key revoked at ${row.revokedAt.toISOString()}: create a new one or log in with another`;
  if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) return `API key expired at ${row.expiresAt.toISOString()}: create a new one`;
  if (row.vendor && row.vendor.status !== 'ACTIVE') return 'this vendor account is suspended: contact the marketplace operator';
  return null;
}
