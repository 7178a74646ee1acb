import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { DomainError } from '../domain-error';
import type { Logger } from '../logger';
import type { Notifications, Queryable } from '../db/notifications';

/** What a credential resolves to; the cache never keeps it past `expiresAt`. */
export interface Credential {
  expiresAt: Date | null;
}

export type Validation<P> = { ok: true; principal: P } | { ok: false; reason: string };

/** A credential, or everything of an owner, that stopped working (revoked, suspended or reactivated). */
export type Revocation = Readonly<Record<string, string>>;

export interface ValidationCacheOptions<P> {
  notifications: Notifications;
  log: Logger;
  /** How long a good result is kept (never past its expiry); 0 keeps nothing. */
  ttlMs: number;
  /** The channel on which every process hears revocations of this kind of credential. */
  channel: string;
  /** Whether a revocation is about this cached principal. */
  matches(principal: P, revocation: Revocation): boolean;
  /** What an expired credential is told. */
  expiredReason(expiresAt: Date): string;
}

/** A wrong secret is remembered briefly, so hammering one bad token costs one hash every few seconds. */
const NEGATIVE_TTL_MS = 5_000;

/**
 * The validation cache every prefixed token shares. Results are kept by the SHA-256 of the
 * presented token (never the token itself) for at most the TTL and never past the credential's
 * expiry; concurrent requests with the same uncached token share one validation; a revocation
 * announced on any process clears matching entries on every process via NOTIFY.
 */
export class ValidationCache<P extends Credential> {
  private readonly cache: LRUCache<string, Validation<P>>;
  private readonly inFlight = new Map<string, Promise<Validation<P>>>();
  private readonly echoWaiters = new Map<string, () => void>();
  private readonly heard = new LRUCache<string, true>({ max: 1000 });
  /** Bumped by every revocation: a validation that started before one is not cached. */
  private epoch = 0;
  private stopListening?: () => Promise<void>;
  private readonly revocationListeners = new Set<(revocation: Revocation | null) => void>();

  constructor(private readonly options: ValidationCacheOptions<P>) {
    this.cache = new LRUCache<string, Validation<P>>({ max: 50_000, ttl: Math.max(options.ttlMs, 1), ttlAutopurge: false });
  }

  async start(): Promise<void> {
    this.stopListening = await this.options.notifications.listen(this.options.channel, (payload) => this.onRevocation(payload));
    // Revocations sent while our listener was reconnecting were missed: trust nothing cached before.
    this.options.notifications.onReconnect(() => {
      this.epoch += 1;
      this.cache.clear();
      this.tell(null);
    });
  }

  /**
   * Calls `listener` after every revocation this process hears (its own included), once the
   * cache has forgotten what it concerns; with null after a listener reconnect, when any
   * credential may have changed. Returns a function that stops the calls.
   */
  onRevoked(listener: (revocation: Revocation | null) => void): () => void {
    this.revocationListeners.add(listener);
    return () => this.revocationListeners.delete(listener);
  }

  /** Whether a revocation concerns this principal. */
  affects(principal: P, revocation: Revocation): boolean {
    return this.options.matches(principal, revocation);
  }

  private tell(revocation: Revocation | null): void {
    for (const listener of this.revocationListeners) {
      try {
        listener(revocation);
      } catch (error) {
        this.options.log.warn({ err: error, channel: this.options.channel }, 'a revocation listener failed');
      }
    }
  }

  async stop(): Promise<void> {
    await this.stopListening?.();
  }

  /** The principal of `token`, validated by `validate` on a cache miss; UNAUTHENTICATED otherwise. */
  async resolve(token: string, validate: () => Promise<Validation<P>>): Promise<P> {
    const cacheKey = createHash('sha256').update(token).digest('hex');
    const result = this.cache.get(cacheKey) ?? (await this.validateOnce(cacheKey, validate));
    if (!result.ok) throw new DomainError('UNAUTHENTICATED', result.reason);
    const { expiresAt } = result.principal;
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      this.cache.delete(cacheKey);
      throw new DomainError('UNAUTHENTICATED', this.options.expiredReason(expiresAt));
    }
    return result.principal;
  }

  /**
   * Tell every process that a credential or owner stopped working, through `query` (a
   * transaction's manager: the message goes out on commit). Call `awaitEcho` after the
   * commit to know the notification has gone round.
   */
  async announce(query: Queryable, revocation: Revocation): Promise<string> {
    const payload = JSON.stringify({ ...revocation, nonce: randomBytes(8).toString('hex') });
    await this.options.notifications.notify(query, this.options.channel, payload);
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

  private onRevocation(payload: string): void {
    this.heard.set(payload, true);
    try {
      const revocation = JSON.parse(payload) as Revocation;
      this.forget(revocation);
      this.tell(revocation);
    } catch (error) {
      this.options.log.warn({ err: error, channel: this.options.channel }, 'ignoring a malformed revocation notification');
    }
    const waiter = this.echoWaiters.get(payload);
    if (waiter) {
      this.echoWaiters.delete(payload);
      waiter();
    }
  }

  /** Forget what a revocation announced elsewhere concerns, in this process only (another kind of credential's owner changed). */
  forgetHere(revocation: Revocation | null): void {
    if (revocation) this.forget(revocation);
    else {
      this.epoch += 1;
      this.cache.clear();
    }
    this.tell(revocation);
  }

  private forget(revocation: Revocation): void {
    this.epoch += 1;
    for (const [key, entry] of this.cache.entries()) {
      // Remembered refusals go too: the change may be a reactivation that makes them wrong.
      if (!entry.ok || this.options.matches(entry.principal, revocation)) this.cache.delete(key);
    }
  }

  private validateOnce(cacheKey: string, validate: () => Promise<Validation<P>>): Promise<Validation<P>> {
    let pending = this.inFlight.get(cacheKey);
    if (!pending) {
      const startedAt = this.epoch;
      pending = validate()
        .then((result) => {
          // A revocation that landed while this was hashing may have been about this very token.
          if (this.epoch === startedAt) this.remember(cacheKey, result);
          return result;
        })
        .finally(() => this.inFlight.delete(cacheKey));
      this.inFlight.set(cacheKey, pending);
    }
    return pending;
  }

  private remember(cacheKey: string, result: Validation<P>): void {
    if (!result.ok) {
      this.cache.set(cacheKey, result, { ttl: Math.min(NEGATIVE_TTL_MS, this.options.ttlMs || 1) });
      return;
    }
    const untilExpiry = result.principal.expiresAt ? result.principal.expiresAt.getTime() - Date.now() : Infinity;
    // Up to a tenth shorter at random, so credentials first used together are not all checked again together.
    const ttl = Math.min(Math.round(this.options.ttlMs * (1 - Math.random() / 10)), untilExpiry);
    if (ttl > 0) this.cache.set(cacheKey, result, { ttl });
  }
}
