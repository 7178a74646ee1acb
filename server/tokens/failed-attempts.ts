import type { DataSource } from 'typeorm';
import { DomainError } from '../domain-error';
import type { Logger } from '../logger';
import { addressBucket, SharedLimit, type LimitState } from '../rate-limits';
import { verifySecret } from './secret-hash';

export interface FailedAttemptLimits {
  perKey: number;
  perAddress: number;
  windowSeconds: number;
}

/**
 * Attempts at a credential (an API key, a deployment token) that need the database or a hash, counted across processes per key id
 * and per client address. An attempt is paid for before its hash, so concurrent guesses cannot
 * slip past the limit, and given back when the secret was right (its key id's count is cleared;
 * its address gets its one attempt back, no more, so an attacker holding a key of their own
 * cannot clear the count between guesses). Past either limit the caller gets RATE_LIMITED with
 * the seconds to wait, even with the right secret, until the window ends.
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

  /** Pays for one attempt (with `lookup` when the key id exists); throws RATE_LIMITED when none is left. */
  async pay(lookup: string | null, address: string | undefined): Promise<void> {
    const [key, from] = await Promise.all([lookup ? this.byKey.spend(lookup) : open, address ? this.byAddress.spend(addressBucket(address)) : open]);
    this.refuseIfLimited(key, from);
  }

  /** The secret was right: the key id's attempts are forgotten and the address gets this one back. */
  async refund(lookup: string, address: string | undefined): Promise<void> {
    await Promise.all([this.byKey.forgive(lookup), address ? this.byAddress.refund(addressBucket(address)) : null]);
  }

  /** An attempt that was paid for but never checked (the server was too busy to hash): its point goes back. */
  async giveBack(lookup: string, address: string | undefined): Promise<void> {
    await Promise.all([this.byKey.refund(lookup), address ? this.byAddress.refund(addressBucket(address)) : null]);
  }

  /** Checks `token`'s secret against `hash` after paying for the attempt; a refusal for being busy costs the caller nothing. */
  async verifyPaid(lookup: string, address: string | undefined, hash: string, token: string): Promise<boolean> {
    await this.pay(lookup, address);
    try {
      return await verifySecret(hash, token);
    } catch (error) {
      await this.giveBack(lookup, address);
      throw error;
    }
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
