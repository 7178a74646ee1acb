import type { DataSource } from 'typeorm';
import type { Notifications } from '../../db/notifications';
import { TrainingRunEntity, type TrainingRunStatus } from './training-run.entity';
import { isFinal } from './run-status';
import { TRAINING_CHANNEL, decodeTrainingEvent } from './training-events';
import type { LogLine, TrainingService } from './training.service';

export interface TrainingLogEvent {
  lines: LogLine[];
  finalStatus: TrainingRunStatus | null;
}

const SHARED_BUFFER_LINES = 10_000;
const REPLAY_PAGE = 500;
/** The most lines one subscription event carries. */
const MAX_EVENT_LINES = 500;

/**
 * One process's view of the runs being followed. Live lines are read from the database
 * once per notification and shared by every subscriber of that run in this process;
 * a subscriber that is behind (replaying, or slow) reads its own pages. Each subscriber
 * remembers the last seq it sent, so nothing is sent twice or skipped, whichever process
 * wrote the lines.
 */
export class TrainingLogHub {
  private readonly feeds = new Map<string, RunFeed>();
  private stopListening?: () => Promise<void>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly notifications: Notifications,
    private readonly training: TrainingService,
  ) {}

  async start(): Promise<void> {
    this.stopListening = await this.notifications.listen(TRAINING_CHANNEL, (payload) => {
      const event = decodeTrainingEvent(payload);
      if (!event || !('runId' in event)) return;
      const feed = this.feeds.get(event.runId);
      if (!feed) return;
      if (event.type === 'logs') feed.notified(event.lastSeq);
      if (event.type === 'changed') feed.changed();
    });
    // Notifications sent while the listener reconnected were missed: every feed looks again.
    this.notifications.onReconnect(() => {
      for (const feed of this.feeds.values()) feed.changed();
    });
  }

  async stop(): Promise<void> {
    await this.stopListening?.();
    for (const feed of this.feeds.values()) feed.close();
  }

  /** Replay after `afterSeq`, then follow; the last event carries the final status. */
  async follow(runId: string, afterSeq: number): Promise<AsyncIterableIterator<TrainingLogEvent>> {
    return (await this.feedOf(runId)).subscribe(Math.max(0, afterSeq));
  }

  /** The run each time it changes (status, metrics, cost); completes after a final status. */
  async updates(runId: string): Promise<AsyncIterableIterator<TrainingRunEntity>> {
    return (await this.feedOf(runId)).watchRun();
  }

  /** Every subscriber of a run waits for the same feed to be ready (its first read of the run). */
  private async feedOf(runId: string): Promise<RunFeed> {
    let feed = this.feeds.get(runId);
    if (!feed) {
      const created: RunFeed = new RunFeed(runId, this.dataSource, this.training, () => {
        if (this.feeds.get(runId) === created) this.feeds.delete(runId);
      });
      feed = created;
      this.feeds.set(runId, feed);
      feed.ready.catch(() => {
        if (this.feeds.get(runId) === created) this.feeds.delete(runId);
      });
    }
    await feed.ready;
    return feed;
  }
}

class RunFeed {
  private buffer: LogLine[] = [];
  /** Highest seq in (or skipped past by) the shared buffer. */
  private bufferEnd = 0;
  /** Highest seq known to exist. */
  private knownSeq = 0;
  private final: { status: TrainingRunStatus; lastSeq: number } | null = null;
  private fetching: Promise<void> | null = null;
  private waiters = new Set<() => void>();
  private subscribers = 0;
  private closed = false;

  constructor(
    readonly runId: string,
    private readonly dataSource: DataSource,
    private readonly training: TrainingService,
    private readonly onIdle: () => void,
  ) {
    this.ready = this.init();
  }

  /** Resolves once the run's line count and status are known. */
  readonly ready: Promise<void>;

  private async init(): Promise<void> {
    const run = await this.dataSource.getRepository(TrainingRunEntity).findOneByOrFail({ id: this.runId });
    this.bufferEnd = this.knownSeq = Math.max(this.knownSeq, run.logLineCount);
    if (isFinal(run.status)) this.final = { status: run.status, lastSeq: run.logLineCount };
  }

  notified(lastSeq: number): void {
    this.knownSeq = Math.max(this.knownSeq, lastSeq);
    void this.fetchShared();
  }

  changed(): void {
    void this.dataSource
      .getRepository(TrainingRunEntity)
      .findOneBy({ id: this.runId })
      .then((run) => {
        if (!run) return;
        this.knownSeq = Math.max(this.knownSeq, run.logLineCount);
        if (isFinal(run.status)) this.final = { status: run.status, lastSeq: run.logLineCount };
        this.wake();
        void this.fetchShared();
      })
      .catch(() => undefined);
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  subscribe(afterSeq: number): AsyncIterableIterator<TrainingLogEvent> {
    let lastSent = afterSeq;
    let page: LogLine[] = [];
    return this.iterate<TrainingLogEvent>(async (finish, stopped) => {
      while (!stopped()) {
        // Whatever is ready goes out as one event: a fast run or a slow subscriber gets batches, not a message per line.
        const lines = page.length > 0 ? page.splice(0, MAX_EVENT_LINES) : this.sharedLinesAfter(lastSent, MAX_EVENT_LINES);
        if (lines.length > 0) {
          lastSent = lines[lines.length - 1].seq;
          return { lines, finalStatus: null };
        }
        if (lastSent < this.knownSeq && !this.sharedCovers(lastSent)) {
          page = await this.training.linesAfter(this.runId, lastSent, REPLAY_PAGE);
          if (page.length > 0) continue;
        }
        if (this.final && lastSent >= this.final.lastSeq) {
          finish();
          return { lines: [], finalStatus: this.final.status };
        }
        await this.changedOnce();
      }
      return undefined;
    });
  }

  watchRun(): AsyncIterableIterator<TrainingRunEntity> {
    let first = true;
    return this.iterate<TrainingRunEntity>(async (finish) => {
      if (!first) await this.changedOnce();
      first = false;
      const run = await this.dataSource.getRepository(TrainingRunEntity).findOneByOrFail({ id: this.runId });
      if (isFinal(run.status)) finish();
      return run;
    });
  }

  /**
   * An iterator for one subscriber: `step` produces the next value (undefined ends it) and may
   * call `finish` to make that value the last. return() (the client went away) ends it at once.
   */
  private iterate<T>(step: (finish: () => void, stopped: () => boolean) => Promise<T | undefined>): AsyncIterableIterator<T> {
    this.subscribers += 1;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      this.release();
    };
    const stopped = () => done || this.closed;
    const iterator: AsyncIterableIterator<T> = {
      next: async () => {
        const value = stopped() ? undefined : await step(finish, stopped);
        if (value === undefined) {
          finish();
          return { done: true, value: undefined };
        }
        return { done: false, value };
      },
      return: async () => {
        finish();
        this.wake();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  private sharedCovers(lastSent: number): boolean {
    const first = this.buffer[0];
    return lastSent >= this.knownSeq || (first !== undefined && first.seq <= lastSent + 1 && this.bufferEnd > lastSent);
  }

  private sharedLinesAfter(lastSent: number, limit: number): LogLine[] {
    const first = this.buffer[0];
    if (!first || lastSent + 1 < first.seq) return [];
    const start = lastSent + 1 - first.seq;
    return this.buffer.slice(start, start + limit);
  }

  /** One read per notification for all subscribers in this process. */
  private fetchShared(): Promise<void> {
    if (this.fetching) return this.fetching;
    // Assigned before the work can finish: a `??=` around an async function that completes without
    // awaiting would run its `finally` first and leave a settled promise behind for good.
    this.fetching = this.readNewLines().finally(() => {
      this.fetching = null;
    });
    return this.fetching;
  }

  private async readNewLines(): Promise<void> {
    while (this.bufferEnd < this.knownSeq && !this.closed) {
      const lines = await this.training.linesAfter(this.runId, this.bufferEnd, 1000);
      if (lines.length === 0) break;
      const contiguous = this.buffer.length === 0 || lines[0].seq === this.bufferEnd + 1;
      if (!contiguous) this.buffer = [];
      this.buffer.push(...lines);
      if (this.buffer.length > SHARED_BUFFER_LINES) this.buffer.splice(0, this.buffer.length - SHARED_BUFFER_LINES);
      this.bufferEnd = lines[lines.length - 1].seq;
      this.wake();
    }
  }

  private changedOnce(): Promise<void> {
    return new Promise((resolve) => {
      // A missed notification (a listener reconnecting) costs at most a few seconds: look again.
      const timer = setTimeout(() => {
        done();
        this.changed();
      }, 5000);
      const waiters = this.waiters;
      function done() {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      }
      waiters.add(done);
    });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private release(): void {
    this.subscribers -= 1;
    if (this.subscribers <= 0) this.onIdle();
  }
}
