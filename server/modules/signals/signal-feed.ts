import type { DataSource } from 'typeorm';
import { pushedStream } from '../../live/pushed-stream';
import type { Logger } from '../../logger';
import type { Notifications } from '../../db/notifications';
import { SIGNAL_COLUMNS, toSignal, type StoredSignal } from './signal-reads';
import { SIGNALS_CHANNEL, type SignalsStored } from './signal-store';

interface Follower {
  /** null: every vendor's (an admin). */
  vendorId: string | null;
  symbols: ReadonlySet<string> | null;
  deliver(signal: StoredSignal): void;
}

/** At most this many signals wait for a slow subscriber; older ones are dropped. */
const MAX_QUEUED = 10_000;

/**
 * Live signals in this process: one listener on the store's channel (every process's batches
 * arrive through it). A batch some follower wants is read once, by its deployment and write
 * time, however many follow it; a batch nobody wants costs nothing.
 */
export class SignalFeed {
  private readonly followers = new Set<Follower>();
  private stopListening?: () => Promise<void>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly notifications: Notifications,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.stopListening = await this.notifications.listen(SIGNALS_CHANNEL, (payload) => void this.onStored(payload));
  }

  async stop(): Promise<void> {
    await this.stopListening?.();
  }

  follow(vendorId: string | null, symbols: readonly string[] | null | undefined): AsyncIterableIterator<StoredSignal> {
    const follower: Follower = { vendorId, symbols: symbols?.length ? new Set(symbols) : null, deliver: (signal) => stream.push(signal) };
    const stream = pushedStream<StoredSignal>({ maxQueued: MAX_QUEUED, onEnd: () => this.followers.delete(follower) });
    this.followers.add(follower);
    return stream.iterator;
  }

  private async onStored(payload: string): Promise<void> {
    if (this.followers.size === 0) return;
    try {
      const batch = JSON.parse(payload) as SignalsStored;
      const interested = [...this.followers].filter(
        (follower) =>
          (follower.vendorId === null || follower.vendorId === batch.vendorId) &&
          (follower.symbols === null || batch.symbols.length >= 200 || batch.symbols.some((symbol) => follower.symbols!.has(symbol))),
      );
      if (interested.length === 0) return;
      const rows: Parameters<typeof toSignal>[0][] = await this.dataSource.query(
        `SELECT ${SIGNAL_COLUMNS} FROM signals WHERE deployment_id = $1 AND written_at = $2::timestamptz ORDER BY symbol, as_of, horizon_days`,
        [batch.writerKey, batch.writtenAt],
      );
      for (const signal of rows.map(toSignal)) {
        for (const follower of interested) if (follower.symbols === null || follower.symbols.has(signal.symbol)) follower.deliver(signal);
      }
    } catch (error) {
      this.log.warn({ err: error }, 'could not follow a batch of signals');
    }
  }
}
