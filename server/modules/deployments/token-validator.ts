import type { DataSource } from 'typeorm';
import { DomainError } from '../../domain-error';
import type { Logger } from '../../logger';
import type { Notifications, Queryable } from '../../db/notifications';
import { FailedAttempts, type FailedAttemptLimits } from '../../tokens/failed-attempts';
import { ValidationCache, type Validation } from '../../tokens/validation-cache';
import { deploymentTokenFormat, type DeploymentScope } from './deployment-token';
import { DeploymentTokenEntity } from './deployment-token.entity';
import { DeploymentEntity } from './deployment.entity';
import { VendorEntity } from '../identity/vendor.entity';
import { isFinal } from './lifecycle';

/** Every process hears on this channel that a deployment token, a deployment or a vendor's tokens stopped working. */
export const DEPLOYMENT_TOKEN_CHANNEL = 'mp_deployment_token_revoked';

const INVALID_TOKEN = 'invalid deployment token: no token matches it (it may have been rotated, or not copied whole)';

/** Who a request made with a deployment token acts for. */
export interface DeploymentCaller {
  deploymentId: string;
  vendorId: string;
  tokenId: string;
  scopes: DeploymentScope[];
  trainingRunId: string | null;
  /** The deployment's own allowance of requests per minute (its `rateLimitPerMinute`). */
  rateLimitPerMinute: number;
  /** When the token was created (introspection's `iat`). */
  issuedAt: Date;
  /** Deployment tokens do not expire; they are revoked. */
  expiresAt: null;
}

export type DeploymentTokenRevocation = { tokenId: string } | { deploymentId: string } | { vendorId: string };

/**
 * Turns a presented `sit_` token into a DeploymentCaller, as KeyValidator does for API keys:
 * format and checksum first, then the shared validation cache, the failed-attempt limits, the
 * token's, deployment's and vendor's standing, and only then the argon2id hash.
 */
export class DeploymentTokenValidator {
  private readonly cache: ValidationCache<DeploymentCaller>;
  private readonly failures: FailedAttempts;

  constructor(
    private readonly dataSource: DataSource,
    notifications: Notifications,
    log: Logger,
    ttlMs: number,
    failureLimits: FailedAttemptLimits,
  ) {
    this.failures = new FailedAttempts(dataSource, failureLimits, log, 'deployment-token', 'deployment token');
    this.cache = new ValidationCache<DeploymentCaller>({
      notifications,
      log,
      ttlMs,
      channel: DEPLOYMENT_TOKEN_CHANNEL,
      matches: (caller, revocation) =>
        revocation.tokenId !== undefined
          ? caller.tokenId === revocation.tokenId
          : revocation.deploymentId !== undefined
            ? caller.deploymentId === revocation.deploymentId
            : caller.vendorId === revocation.vendorId,
      expiredReason: () => INVALID_TOKEN,
    });
  }

  start(): Promise<void> {
    return this.cache.start();
  }

  stop(): Promise<void> {
    return this.cache.stop();
  }

  owns(token: string): boolean {
    return deploymentTokenFormat.owns(token);
  }

  async authenticate(token: string, address?: string): Promise<DeploymentCaller> {
    const parsed = deploymentTokenFormat.parse(token);
    if (!parsed.ok) throw new DomainError('UNAUTHENTICATED', parsed.reason);
    return this.cache.resolve(token, () => this.validate(parsed.lookup, token, address));
  }

  /**
   * For token introspection: the caller a live token acts for, from the same cache, or null
   * for anything else (not a deployment token, unknown, revoked, stopped). A refusal for too
   * many attempts (RATE_LIMITED) is thrown: it says nothing about whether the token is live.
   */
  async introspect(token: string): Promise<DeploymentCaller | null> {
    if (!deploymentTokenFormat.parse(token).ok) return null;
    try {
      return await this.authenticate(token);
    } catch (error) {
      if (error instanceof DomainError && error.code === 'UNAUTHENTICATED') return null;
      throw error;
    }
  }

  announce(query: Queryable, revocation: DeploymentTokenRevocation): Promise<string> {
    return this.cache.announce(query, revocation);
  }

  awaitEcho(payload: string): Promise<void> {
    return this.cache.awaitEcho(payload);
  }

  onRevoked(listener: (revocation: DeploymentTokenRevocation | null) => void): () => void {
    return this.cache.onRevoked((revocation) => listener(revocation as DeploymentTokenRevocation | null));
  }

  /** A vendor was suspended or reactivated (heard by identity on every process): its tokens are validated anew here. */
  vendorChanged(vendorId: string | null): void {
    this.cache.forgetHere(vendorId ? { vendorId } : null);
  }

  affects(caller: DeploymentCaller, revocation: DeploymentTokenRevocation): boolean {
    return this.cache.affects(caller, revocation);
  }

  /** A refusal that cost a database read: counted against the address like any other. */
  private async refused(address: string | undefined, reason: string): Promise<Validation<DeploymentCaller>> {
    await this.failures.pay(null, address);
    return { ok: false, reason };
  }

  private async validate(lookup: string, token: string, address: string | undefined): Promise<Validation<DeploymentCaller>> {
    this.failures.refuseKnownExhausted(lookup, address);
    const row = await this.dataSource.getRepository(DeploymentTokenEntity).findOneBy({ lookup });
    if (!row) {
      await this.failures.pay(null, address);
      return { ok: false, reason: INVALID_TOKEN };
    }
    if (row.revokedAt)
      return this.refused(address, `deployment token revoked at ${row.revokedAt.toISOString()}: the deployment was stopped or its token rotated`);
    const [deployment, vendor] = await Promise.all([
      this.dataSource.getRepository(DeploymentEntity).findOneBy({ id: row.deploymentId }),
      this.dataSource.getRepository(VendorEntity).findOneBy({ id: row.vendorId }),
    ]);
    if (!deployment || isFinal(deployment.status) || deployment.status === 'STOPPING') {
      return this.refused(address, `deployment ${row.deploymentId} has stopped: its token no longer works`);
    }
    if (!vendor || vendor.status !== 'ACTIVE') return this.refused(address, 'this vendor account is suspended: contact the marketplace operator');
    if (!(await this.failures.verifyPaid(lookup, address, row.secretHash, token))) return { ok: false, reason: INVALID_TOKEN };
    await this.failures.refund(lookup, address);
    return {
      ok: true,
      principal: {
        deploymentId: row.deploymentId,
        vendorId: row.vendorId,
        tokenId: row.id,
        scopes: row.scopes as DeploymentScope[],
        trainingRunId: deployment.trainingRunId,
        rateLimitPerMinute: deployment.rateLimitPerMinute,
        issuedAt: row.createdAt,
        expiresAt: null,
      },
    };
  }
}
