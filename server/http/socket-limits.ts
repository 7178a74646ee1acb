import type { WebSocket } from 'ws';
import type { WebSocketLimits } from '../config';
import { addressBucket } from '../rate-limits';

/** Close code for a socket refused because its caller has too many open (graphql-ws uses 4429 for "too many"). */
export const TOO_MANY_CLOSE = 4429;

interface Tracked {
  /** Whose count the socket is in: its address before connection_init and without a key, else its key. */
  owner: string;
  address: string | undefined;
  /** Subscriptions running or being set up (graphql-ws's own record of them). */
  subscriptions: () => number;
  /** When the socket last had a subscription, or was opened. */
  lastBusyAt: number;
}

/**
 * The per-process limits on WebSockets: sockets per API key, per address without a key (and,
 * separately, per address before connection_init, so sockets that never initialise cannot pile
 * up either), and the idle sweep (a socket with no subscription for `idleMs` is closed with 1000). Subscriptions
 * per socket and pending subscribes are checked in graphql-ws.ts, where the messages are.
 */
export class SocketLimits {
  private readonly sockets = new Map<WebSocket, Tracked>();
  private readonly counts = new Map<string, number>();
  private readonly sweep: NodeJS.Timeout | undefined;

  constructor(readonly limits: WebSocketLimits) {
    if (limits.idleMs > 0) {
      this.sweep = setInterval(() => this.closeIdle(), Math.min(Math.max(limits.idleMs / 4, 250), 30_000));
      this.sweep.unref();
    }
  }

  /** Whether `address` may open one more socket that has not yet sent connection_init. */
  admitsUpgradeFrom(address: string | undefined): boolean {
    return this.count(owner('pending', address)) < this.limits.maxAnonymousSocketsPerAddress;
  }

  opened(socket: WebSocket, address: string | undefined, subscriptions: () => number): void {
    this.track(socket, { owner: owner('pending', address), address, subscriptions, lastBusyAt: Date.now() });
  }

  /**
   * Counts an initialised socket against its API key (`apiKeyId`) or, without one, against its
   * address; false when that owner already has its maximum of sockets.
   */
  initialised(socket: WebSocket, apiKeyId: string | null): boolean {
    const tracked = this.sockets.get(socket);
    if (!tracked) return true;
    const next = apiKeyId ? `key:${apiKeyId}` : owner('anonymous', tracked.address);
    const maximum = apiKeyId ? this.limits.maxSocketsPerKey : this.limits.maxAnonymousSocketsPerAddress;
    if (this.count(next) >= maximum) return false;
    this.untrack(socket);
    this.track(socket, { ...tracked, owner: next });
    return true;
  }

  /** Marks the socket busy now (a subscription started or ended), which restarts its idle clock. */
  busy(socket: WebSocket): void {
    const tracked = this.sockets.get(socket);
    if (tracked) tracked.lastBusyAt = Date.now();
  }

  closed(socket: WebSocket): void {
    this.untrack(socket);
  }

  stop(): void {
    if (this.sweep) clearInterval(this.sweep);
  }

  private closeIdle(): void {
    const cutoff = Date.now() - this.limits.idleMs;
    for (const [socket, tracked] of this.sockets) {
      if (tracked.subscriptions() > 0) tracked.lastBusyAt = Date.now();
      else if (tracked.lastBusyAt < cutoff) socket.close(1000, `idle: no subscription for ${Math.round(this.limits.idleMs / 1000)} s`);
    }
  }

  private count(owner: string): number {
    return this.counts.get(owner) ?? 0;
  }

  private track(socket: WebSocket, tracked: Tracked): void {
    this.sockets.set(socket, tracked);
    this.counts.set(tracked.owner, this.count(tracked.owner) + 1);
  }

  private untrack(socket: WebSocket): void {
    const tracked = this.sockets.get(socket);
    if (!tracked) return;
    this.sockets.delete(socket);
    const left = this.count(tracked.owner) - 1;
    if (left > 0) this.counts.set(tracked.owner, left);
    else this.counts.delete(tracked.owner);
  }
}

function owner(state: 'pending' | 'anonymous', address: string | undefined): string {
  return `${state}:${address ? addressBucket(address) : 'unknown'}`;
}
