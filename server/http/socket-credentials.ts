import type WebSocket from 'ws';
import { DomainError } from '../domain-error';
import type { Logger } from '../logger';
import type { Principal } from '../modules/identity/principal';

/** The graphql-ws close code for a refused or withdrawn credential (the reason is at most 123 bytes). */
export const UNAUTHORIZED_CLOSE = 4403;

/** The longest delay setTimeout takes; a later expiry is looked at again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface Credentials<R> {
  authenticate(token: string, address?: string): Promise<Principal>;
  /** Calls back after every revocation this process hears (null: any credential may have changed). */
  onRevoked(listener: (revocation: R | null) => void): () => void;
  affects(principal: Principal, revocation: R): boolean;
}

interface OpenSocket {
  token: string;
  principal: Principal;
  expiry?: NodeJS.Timeout;
}

/**
 * The open WebSockets and the credential each authenticated with. A socket whose credential
 * stops working is closed with 4403 and the reason: at once when a revocation or suspension is
 * heard (on every process: revocations arrive by NOTIFY), at its expiry when it expires. A
 * revocation that concerns a socket's vendor is checked again against the database before the
 * socket is closed, so a reactivation (announced the same way) closes nothing.
 */
export class SocketCredentials<R> {
  private readonly open = new Map<WebSocket, OpenSocket>();
  private readonly stopHearing: () => void;

  constructor(
    private readonly credentials: Credentials<R>,
    private readonly log: Logger,
  ) {
    this.stopHearing = credentials.onRevoked((revocation) => void this.recheck(revocation));
  }

  add(socket: WebSocket, token: string, principal: Principal): void {
    const entry: OpenSocket = { token, principal };
    this.open.set(socket, entry);
    this.armExpiry(socket, entry);
  }

  remove(socket: WebSocket): void {
    clearTimeout(this.open.get(socket)?.expiry);
    this.open.delete(socket);
  }

  close(): void {
    this.stopHearing();
    for (const socket of [...this.open.keys()]) this.remove(socket);
  }

  private armExpiry(socket: WebSocket, entry: OpenSocket): void {
    const expiresAt = entry.principal.expiresAt;
    if (!expiresAt) return;
    const wait = expiresAt.getTime() - Date.now();
    entry.expiry = setTimeout(
      () => {
        if (Date.now() < expiresAt.getTime()) return this.armExpiry(socket, entry);
        this.end(socket, `API key expired at ${expiresAt.toISOString()}: create a new one`);
      },
      Math.min(Math.max(0, wait), MAX_TIMER_MS),
    );
    entry.expiry.unref();
  }

  private async recheck(revocation: R | null): Promise<void> {
    const concerned = [...this.open].filter(([, entry]) => revocation === null || this.credentials.affects(entry.principal, revocation));
    // One validation per distinct token (the cache is already cleared for these credentials).
    const verdicts = new Map<string, Promise<string | null>>();
    await Promise.all(
      concerned.map(async ([socket, entry]) => {
        let verdict = verdicts.get(entry.token);
        if (!verdict) {
          verdict = this.credentials.authenticate(entry.token).then(
            () => null,
            (error: unknown) => {
              if (error instanceof DomainError) return error.message;
              this.log.warn({ err: error }, 'could not check an open WebSocket credential again; it stays open until the next check');
              return null;
            },
          );
          verdicts.set(entry.token, verdict);
        }
        const refused = await verdict;
        if (refused) this.end(socket, refused);
      }),
    );
  }

  private end(socket: WebSocket, reason: string): void {
    this.remove(socket);
    socket.close(UNAUTHORIZED_CLOSE, Buffer.from(reason).subarray(0, 123).toString());
  }
}
