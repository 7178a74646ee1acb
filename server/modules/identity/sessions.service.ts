import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { DomainError } from '../../domain-error';
import { decodeCursor, pageSize, toConnection, type Connection } from '../../db/pagination';
import type { KeyValidator } from './key-validator';
import type { Principal } from './principal';
import { SESSION_ID_PREFIX } from './ids';
import { SessionEntity, type SessionView } from './session.entity';
import { SESSION_TTL_MS, sessionTokenFormat } from './session-token';

const ENDED = 'your session has ended (signed out, expired, or its API key was revoked): sign in again';

/** A session row with what its key and vendor say about it, as one query reads them. */
interface SessionStanding {
  id: string;
  vendor_id: string | null;
  api_key_id: string;
  role: Principal['role'];
  expires_at: Date;
  revoked_at: Date | null;
  key_expires_at: Date | null;
  key_revoked_at: Date | null;
  vendor_status: string | null;
}

interface SessionRow {
  id: string;
  token_hash: string;
  api_key_id: string;
  vendor_id: string | null;
  user_agent: string | null;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  key_name: string;
}

function fromRow(row: SessionRow): SessionEntity {
  return Object.assign(new SessionEntity(), {
    id: row.id,
    tokenHash: row.token_hash,
    apiKeyId: row.api_key_id,
    vendorId: row.vendor_id,
    userAgent: row.user_agent,
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
    revokedAt: row.revoked_at ? new Date(row.revoked_at) : null,
  });
}

export interface OpenedSession {
  token: string;
  session: SessionEntity;
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Browser sessions: an API key exchanged once for a cookie token. Each request reads the
 * session with its key's and vendor's standing in one query (nothing cached), so revoking the
 * key, suspending the vendor or ending the session stops it on every process at its next
 * request; open WebSockets hear it through the identity revocation channel.
 */
export class SessionsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly keys: KeyValidator,
  ) {}

  owns(token: string): boolean {
    return sessionTokenFormat.owns(token);
  }

  /** Exchange an API key (checked like any request's, with the failed-attempt limits) for a new session. */
  async open(apiKey: string, address: string | undefined, userAgent: string | undefined): Promise<OpenedSession> {
    const principal = await this.keys.authenticate(apiKey, address);
    const { lookup, token } = sessionTokenFormat.generate();
    const keyExpiry = principal.expiresAt?.getTime() ?? Infinity;
    const session = this.dataSource.getRepository(SessionEntity).create({
      id: `${SESSION_ID_PREFIX}_${lookup}`,
      tokenHash: hashToken(token),
      apiKeyId: principal.apiKeyId,
      vendorId: principal.vendorId,
      userAgent: userAgent?.slice(0, 300) ?? null,
      createdAt: new Date(),
      expiresAt: new Date(Math.min(Date.now() + SESSION_TTL_MS, keyExpiry)),
      revokedAt: null,
    });
    await this.dataSource.getRepository(SessionEntity).insert(session);
    return { token, session };
  }

  /** The principal of a session token, or UNAUTHENTICATED with one sentence saying to sign in again. */
  async authenticate(token: string): Promise<Principal> {
    const parsed = sessionTokenFormat.parse(token);
    if (!parsed.ok) throw new DomainError('UNAUTHENTICATED', `${parsed.reason}: sign in again`);
    const rows = (await this.dataSource.query(
      `SELECT s.id, s.vendor_id, s.api_key_id, k.role, s.expires_at, s.revoked_at,
              k.expires_at AS key_expires_at, k.revoked_at AS key_revoked_at, v.status AS vendor_status
         FROM sessions s JOIN api_keys k ON k.id = s.api_key_id LEFT JOIN vendors v ON v.id = s.vendor_id
        WHERE s.token_hash = $1`,
      [hashToken(token)],
    )) as SessionStanding[];
    const row = rows[0];
    if (!row || !usable(row)) throw new DomainError('UNAUTHENTICATED', ENDED);
    return { role: row.role, vendorId: row.vendor_id, apiKeyId: row.api_key_id, expiresAt: new Date(row.expires_at), sessionId: row.id };
  }

  /** Sign-out: end the session of this token (nothing happens for an unknown one). */
  async close(token: string): Promise<void> {
    const found = await this.dataSource.getRepository(SessionEntity).findOneBy({ tokenHash: hashToken(token) });
    if (found) await this.end(found.id);
  }

  async list(principal: Principal | null, args: { first?: number | null; after?: string | null }): Promise<Connection<SessionView>> {
    const caller = requireCaller(principal);
    const size = pageSize(args.first);
    const after = decodeCursor(args.after, ['time', 'text']) as [string, string] | undefined;
    const owner = caller.vendorId ? 's.vendor_id = $1' : 's.vendor_id IS NULL AND $1::text IS NULL';
    const active = `FROM sessions s JOIN api_keys k ON k.id = s.api_key_id
       WHERE ${owner} AND s.revoked_at IS NULL AND s.expires_at > now()
         AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())`;
    const [{ count }] = (await this.dataSource.query(`SELECT count(*)::int AS count ${active}`, [caller.vendorId])) as { count: number }[];
    const rows = (await this.dataSource.query(
      `SELECT s.id, s.token_hash, s.api_key_id, s.vendor_id, s.user_agent, s.created_at, s.expires_at, s.revoked_at, k.name AS key_name ${active}
         ${after ? 'AND (s.created_at, s.id) < ($2::timestamptz, $3::text)' : ''}
       ORDER BY s.created_at DESC, s.id DESC LIMIT ${size + 1}`,
      after ? [caller.vendorId, after[0], after[1]] : [caller.vendorId],
    )) as SessionRow[];
    const views = rows.map((row) => ({ session: fromRow(row), apiKeyName: row.key_name, current: row.id === caller.sessionId }));
    return toConnection(views, size, Number(count), (view) => [view.session.createdAt.toISOString(), view.session.id], Boolean(after));
  }
  /** End one of the caller's vendor's sessions; another vendor's is NOT_FOUND. */
  async revoke(principal: Principal | null, id: string): Promise<SessionView> {
    const caller = requireCaller(principal);
    const found = await this.dataSource.getRepository(SessionEntity).findOneBy({ id });
    if (!found || found.vendorId !== caller.vendorId) throw new DomainError('NOT_FOUND', `no session ${id} among yours (see the sessions list)`);
    const key = (await this.dataSource.query(`SELECT name FROM api_keys WHERE id = $1`, [found.apiKeyId])) as { name: string }[];
    if (!found.revokedAt) found.revokedAt = await this.end(id);
    return { session: found, apiKeyName: key[0]?.name ?? '', current: found.id === caller.sessionId };
  }

  private async end(id: string): Promise<Date> {
    const revokedAt = new Date();
    let announcement = '';
    await this.dataSource.transaction(async (manager) => {
      await manager.getRepository(SessionEntity).update({ id }, { revokedAt });
      announcement = await this.keys.announce(manager, { sessionId: id });
    });
    await this.keys.awaitEcho(announcement);
    return revokedAt;
  }
}

function usable(row: SessionStanding): boolean {
  const now = Date.now();
  if (row.revoked_at || new Date(row.expires_at).getTime() <= now) return false;
  if (row.key_revoked_at || (row.key_expires_at && new Date(row.key_expires_at).getTime() <= now)) return false;
  return row.vendor_status === null || row.vendor_status === 'ACTIVE';
}

function requireCaller(principal: Principal | null): Principal {
  if (!principal) throw new DomainError('UNAUTHENTICATED', 'sign in first: an API key or a session is required');
  return principal;
}
