import type { DataSource } from 'typeorm';
import { DomainError } from '../domain-error';
import type { Logger } from '../logger';
import { addressBucket, SharedLimit, type LimitState } from '../rate-limits';
import { knownToMatch, verifySecret } from './secret-hash';

export interface FailedAttemptLimits {
  perKey: number;
  perAddress: number;
  windowSeconds: number;
}

/**
 * Attempts at a credential (an API key, a deployment token) that need the database or a hash,
 * counted across processes. Per key id, every attempt that reaches the hash is paid for before
 * it, so concurrent guesses at one key cannot slip past the limit, and a correct secret clears
 * its count. Per client address only failures count (no such key, a wrong secret, a revoked or
 * suspended one): many valid credentials checked at once from one address (a NAT, a host running
 * many deployments, a restart that empties every cache) never use up its budget. Past either
 * limit the caller gets RATE_LIMITED with the seconds to wait, even with the right secret, until
 * the window ends.
 */
export class FailedAttempts {
  private readonly byKey: SharedLimit;
  private readonly byAddress: SharedLimit;

  /**
   * `kind` names the counters (`key` for API keys: `auth-failures-key`); `noun` names the
   * credential in messages ("API key"). Every kind shares the per-address count.
   */
  constructor(
    dataSource: DataSource,
    limits: FailedAttemptLimits,
    log: Logger,
    kind: string,
    private readonly noun: string,
  ) {
    this.byKey = new SharedLimit(dataSource, { name: `auth-failures-${kind}`, points: limits.perKey, windowSeconds: limits.windowSeconds }, log);
    this.byAddress = new SharedLimit(dataSource, { name: 'auth-failures-address', points: limits.perAddress, windowSeconds: limits.windowSeconds }, log);
  }

  /** Throws RATE_LIMITED when this process already knows the key id or the address is out of attempts (costs nothing). */
  refuseKnownExhausted(lookup: string, address: string | undefined): void {
    this.refuseIfLimited(this.byKey.knownExhausted(lookup), address ? this.byAddress.knownExhausted(addressBucket(address)) : open);
  }

  /** A failed attempt that needed no hash (no such key id, a revoked one): counted against the address. */
  async pay(_lookup: null, address: string | undefined): Promise<void> {
    if (address) this.refuseIfLimited(open, await this.byAddress.spend(addressBucket(address)));
  }

  /**
   * Pays for one hash of `lookup`'s secret, then checks it: a wrong one is also counted against
   * the address; a refusal for being busy costs the caller nothing.
   */
  async verifyPaid(lookup: string, address: string | undefined, hash: string, token: string): Promise<boolean> {
    // A secret that matched before costs no hash, so there is nothing to pay for.
    if (knownToMatch(hash, token)) return true;
    this.refuseIfLimited(await this.byKey.spend(lookup), open);
    let matches: boolean;
    try {
      matches = await verifySecret(hash, token);
    } catch (error) {
      await this.byKey.refund(lookup);
      throw error;
    }
    if (!matches && address) await this.byAddress.spend(addressBucket(address));
    return matches;
  }

  /** The secret was right: the key id's attempts are forgotten. */
  async refund(lookup: string, _address?: string): Promise<void> {
    await this.byKey.forgive(lookup);
  }

  private refuseIfLimited(key: LimitState, from: LimitState): void {
    if (key.limited) throw limited(`too many failed attempts with this ${this.noun}'s id: retry in ${key.retryAfterSeconds} s`, key.retryAfterSeconds);
    if (from.limited) throw limited(`too many failed ${this.noun} attempts from this address: retry in ${from.retryAfterSeconds} s`, from.retryAfterSeconds);
  }
}

const open: LimitState = { limited: false };

function limited(message: string, retryAfter: number): DomainError {
  return new DomainError('RATE_LIMITED', message, { retryAfter });
}
