import type { DataSource } from 'typeorm';
import { DomainError, badInput } from '../../domain-error';
import type { Logger } from '../../logger';
import type { Notifications } from '../../db/notifications';
import { hashSecret } from '../../tokens/secret-hash';
import { FailedAttempts, type FailedAttemptLimits } from '../../tokens/failed-attempts';
import { ValidationCache, type Validation } from '../../tokens/validation-cache';
import { infraClientFormat } from './infra-client-token';
import { InfraClientEntity } from './infra-client.entity';
import { INFRA_CLIENT_ID_PREFIX } from './ids';

/** Every process hears on this channel that an infrastructure client was revoked. */
export const INFRA_CLIENT_CHANNEL = 'mp_infra_client_revoked';

const INVALID_SECRET = 'invalid client credentials: no infrastructure client matches this secret';

/** Who calls the introspection endpoint. */
export interface InfraClient {
  clientId: string;
  name: string;
  /** Client secrets do not expire; they are revoked. */
  expiresAt: null;
}

export interface CreatedInfraClient {
  client: InfraClientEntity;
  /** The whole secret, shown once. */
  secret: string;
}

/**
 * The systems of the trading infrastructure allowed to introspect deployment tokens: created,
 * listed and revoked by the operator (`mp-server infra`), authenticated like API keys (format
 * and checksum, the shared validation cache, failed-attempt limits, then argon2id).
 */
export class InfraClients {
  private readonly cache: ValidationCache<InfraClient>;
  private readonly failures: FailedAttempts;

  constructor(
    private readonly dataSource: DataSource,
    notifications: Notifications,
    private readonly log: Logger,
    ttlMs: number,
    failureLimits: FailedAttemptLimits,
  ) {
    this.failures = new FailedAttempts(dataSource, failureLimits, log, 'infra-client', 'infrastructure client secret');
    this.cache = new ValidationCache<InfraClient>({
      notifications,
      log,
      ttlMs,
      channel: INFRA_CLIENT_CHANNEL,
      matches: (client, revocation) => client.clientId === revocation.clientId,
      expiredReason: () => INVALID_SECRET,
    });
  }

  start(): Promise<void> {
    return this.cache.start();
  }

  stop(): Promise<void> {
    return this.cache.stop();
  }

  async create(name: string): Promise<CreatedInfraClient> {
    const trimmed = name.trim();
    if (trimmed.length < 1 || trimmed.length > 64) throw badInput('name', 'must be 1 to 64 characters');
    const { lookup, token } = infraClientFormat.generate();
    const client = Object.assign(new InfraClientEntity(), {
      id: `${INFRA_CLIENT_ID_PREFIX}_${lookup}`,
      name: trimmed,
      lookup,
      secretHash: await hashSecret(token),
      createdAt: new Date(),
      lastUsedAt: null,
      revokedAt: null,
    });
    await this.dataSource.getRepository(InfraClientEntity).insert(client);
    return { client, secret: token };
  }

  /** Every client, newest first (revoked ones included). */
  list(): Promise<InfraClientEntity[]> {
    return this.dataSource.getRepository(InfraClientEntity).find({ order: { createdAt: 'DESC', id: 'DESC' } });
  }

  /** Revokes `id` and tells every process before returning; revoking twice changes nothing. */
  async revoke(id: string): Promise<InfraClientEntity> {
    let announcement = '';
    const client = await this.dataSource.transaction(async (manager) => {
      const repository = manager.getRepository(InfraClientEntity);
      const found = await repository.createQueryBuilder('client').setLock('pessimistic_write').where('client.id = :id', { id }).getOne();
      if (!found) throw new DomainError('NOT_FOUND', `no infrastructure client ${id} (see mp-server infra list-clients)`);
      if (found.revokedAt) return found;
      found.revokedAt = new Date();
      await repository.update({ id }, { revokedAt: found.revokedAt });
      announcement = await this.cache.announce(manager, { clientId: id });
      return found;
    });
    if (announcement) await this.cache.awaitEcho(announcement);
    return client;
  }

  /**
   * The client whose secret this is; with `clientId` (HTTP Basic), also that it is this client's.
   * UNAUTHENTICATED or RATE_LIMITED otherwise. `address` is the caller's, for the failed-attempt limit.
   */
  async authenticate(secret: string, options: { clientId?: string; address?: string } = {}): Promise<InfraClient> {
    const parsed = infraClientFormat.parse(secret);
    if (!parsed.ok) throw new DomainError('UNAUTHENTICATED', parsed.reason);
    if (options.clientId !== undefined && options.clientId !== `${INFRA_CLIENT_ID_PREFIX}_${parsed.lookup}`) {
      throw new DomainError('UNAUTHENTICATED', 'invalid client credentials: the client id does not match its secret');
    }
    return this.cache.resolve(secret, () => this.validate(parsed.lookup, secret, options.address));
  }

  private async validate(lookup: string, secret: string, address: string | undefined): Promise<Validation<InfraClient>> {
    this.failures.refuseKnownExhausted(lookup, address);
    const row = await this.dataSource.getRepository(InfraClientEntity).findOneBy({ lookup });
    if (!row) {
      await this.failures.pay(null, address);
      return { ok: false, reason: INVALID_SECRET };
    }
    if (row.revokedAt) {
      // Cheap (no hash), but a database read: counted against the address like any other attempt.
      await this.failures.pay(null, address);
      return { ok: false, reason: `infrastructure client ${row.id} was revoked at ${row.revokedAt.toISOString()}` };
    }
    if (!(await this.failures.verifyPaid(lookup, address, row.secretHash, secret))) return { ok: false, reason: INVALID_SECRET };
    await this.failures.refund(lookup, address);
    this.touch(row.id);
    return { ok: true, principal: { clientId: row.id, name: row.name, expiresAt: null } };
  }

  /** lastUsedAt is refreshed on each cache miss, off the request path. */
  private touch(id: string): void {
    this.dataSource
      .query(`UPDATE infra_clients SET last_used_at = now() WHERE id = $1`, [id])
      .catch((error: unknown) => this.log.warn({ err: error, clientId: id }, 'could not record infrastructure client use'));
  }
}
