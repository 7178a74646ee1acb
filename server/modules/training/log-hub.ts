import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { Notifications } from '../../db/notifications';
import { TrainingRunEntity, type TrainingRunStatus } from './training-run.entity';
import { isFinal } from './run-status';
import { TRAINING_CHANNEL, decodeTrainingEvent, inlineLines } from './training-events';
import type { LiveLogs } from './log-writer';
import type { LogLine, TrainingRuns } from './training-runs';
import type { TrainingLogEvent as GeneratedTrainingLogEvent } from '../../../generated/server-types';

/** The SDL's TrainingLogEvent as the hub builds it: every field set, lines without __typename. */
export type TrainingLogEvent = Required<Omit<GeneratedTrainingLogEvent, '__typename' | 'lines'>> & { lines: LogLine[] };

const SHARED_BUFFER_LINES = 10_000;
const REPLAY_PAGE = 500;
/** The most lines one subscription event carries. */
const MAX_EVENT_LINES = 500;
/** A notification of this process's own lines that the writer never handed over is read after this long. */
const OWN_LINES_GRACE_MS = 1000;
/** Followers look at the run again this often, in case a notification was missed. */
const RECHECK_MS = 5000;

/**
 * One process's view of the runs being followed. New lines reach a run's feed once per
 * process: handed over by this process's log writer after they are committed, carried in
 * the notification from another process, or else read from the database once. Every
 * subscriber of the run in this process then gets the same event object (so graphql-ws can
 * execute it once); a subscriber that is behind (replaying, or slow) reads its own pages.
 * Each subscriber remembers the last seq it sent, so nothing is sent twice or skipped,
 * whichever process wrote the lines.
 */
export class TrainingLogHub implements LiveLogs {
  readonly origin = randomBytes(8).toString('hex');
  private readonly feeds = new Map<string, RunFeed>();
  private stopListening?: () => Promise<void>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly notifications: Notifications,
    private readonly training: TrainingRuns,
  ) {}

  async start(): Promise<void> {
    this.stopListening = await this.notifications.listen(TRAINING_CHANNEL, (payload) => {
      const event = decodeTrainingEvent(payload);
      if (!event || !('runId' in event)) return;
      const feed = this.feeds.get(event.runId);
      if (!feed) return;
      if (event.type === 'logs') {
        if (event.origin === this.origin) feed.expectOwn(event.lastSeq);
        else feed.notified(event.lastSeq, inlineLines(event));
      }
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

  /** Lines this process just committed (seq ascending, contiguous). */
  stored(runId: string, lines: LogLine[]): void {
    if (lines.length > 0) this.feeds.get(runId)?.append(lines);
  }

  /** Replay after `afterSeq`, then follow; the last event carries the final status. */
  async follow(runId: string, afterSeq: number): Promise<AsyncIterableIterator<TrainingLogEvent>> {
    return (await this.feedOf(runId)).subscribe(Math.max(0, afterSeq));
  }

  /** The run each time it changes (status, metrics, cost, lines); completes after a final status. */
  async updates(runId: string): Promise<AsyncIterableIterator<TrainingRunEntity>> {
    return (await this.feedOf(runId)).watchRun();
  }

  /** Every subscriber of a run waits for the same feed to be ready (its first read of the run). */
  private async feedOf(runId: string): Promise<RunFeed> {
    for (;;) {
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
      // While we waited, the feed's last subscriber may have left and the feed been dropped:
      // following it would get no lines. Take (or make) the registered one instead.
      if (this.feeds.get(runId) === feed) return feed;
    }
  }
}

class RunFeed {
  /** Recent lines, contiguous, ending at bufferEnd. */
  private buffer: LogLine[] = [];
  /** Highest seq in (or skipped past by) the shared buffer: lines before the buffer are read from the database. */
  private bufferEnd = 0;
  /** Highest seq known to be committed. */
  private knownSeq = 0;
  private isReady = false;
  private final: { status: TrainingRunStatus; lastSeq: number } | null = null;
  private finalEvent: TrainingLogEvent | null = null;
  /** The event for subscribers whose last seq is the key, valid until the buffer changes. */
  private events = new Map<number, TrainingLogEvent>();
  private fetching: Promise<void> | null = null;
  private signal = deferred();
  private ownExpected = 0;
  private ownTimer: NodeJS.Timeout | undefined;
  private recheck: NodeJS.Timeout | undefined;
  private subscribers = 0;
  private closed = false;

  constructor(
    readonly runId: string,
    private readonly dataSource: DataSource,
    private readonly training: TrainingRuns,
    private readonly onIdle: () => void,
  ) {
    this.ready = this.init();
  }

  /** Resolves once the run's line count and status are known. */
  readonly ready: Promise<void>;

  private async init(): Promise<void> {
    const run = await this.dataSource.getRepository(TrainingRunEntity).findOneByOrFail({ id: this.runId });
    // Lines that arrived during this read are not in the buffer: subscribers read them from the database.
    this.bufferEnd = this.knownSeq = Math.max(this.knownSeq, run.logLineCount);
    if (isFinal(run.status)) this.final = { status: run.status, lastSeq: run.logLineCount };
    this.isReady = true;
  }

  /** Another process stored lines up to `lastSeq`, perhaps carried along. */
  notified(lastSeq: number, lines: LogLine[] | null): void {
    if (lines && lines[lines.length - 1].seq === lastSeq) return this.append(lines);
    this.knownSeq = Math.max(this.knownSeq, lastSeq);
    void this.fetchShared();
  }

  /**
   * This process's writer stored lines up to `lastSeq` and hands them over itself, usually
   * just after this notification; only if it never does are they read.
   */
  expectOwn(lastSeq: number): void {
    this.ownExpected = Math.max(this.ownExpected, lastSeq);
    this.ownTimer ??= setTimeout(() => {
      this.ownTimer = undefined;
      if (this.bufferEnd < this.ownExpected) this.notified(this.ownExpected, null);
    }, OWN_LINES_GRACE_MS);
  }

  /** Committed lines, seq ascending and contiguous; a gap before them is read from the database. */
  append(lines: LogLine[]): void {
    const last = lines[lines.length - 1].seq;
    this.knownSeq = Math.max(this.knownSeq, last);
    if (!this.isReady || this.closed || last <= this.bufferEnd) return;
    const from = this.bufferEnd + 1 - lines[0].seq;
    if (from < 0) {
      void this.fetchShared();
      return;
    }
    this.push(from === 0 ? lines : lines.slice(from));
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
    this.stopTimers();
    this.wake();
  }

  subscribe(afterSeq: number): AsyncIterableIterator<TrainingLogEvent> {
    let lastSent = afterSeq;
    let page: LogLine[] = [];
    return this.iterate<TrainingLogEvent>(async (finish, stopped) => {
      while (!stopped()) {
        if (page.length > 0) {
          const lines = page.splice(0, MAX_EVENT_LINES);
          lastSent = lines[lines.length - 1].seq;
          return { lines, finalStatus: null };
        }
        if (lastSent + 1 < this.bufferEnd - this.buffer.length + 1) {
          // Behind the shared buffer: this subscriber reads its own pages.
          page = await this.training.linesAfter(this.runId, lastSent, REPLAY_PAGE);
          if (page.length > 0) continue;
        } else if (lastSent < this.bufferEnd) {
          const event = this.eventAfter(lastSent);
          lastSent = event.lines[event.lines.length - 1].seq;
          return event;
        } else if (lastSent < this.knownSeq) {
          const before = this.bufferEnd;
          await this.fetchShared();
          if (this.bufferEnd > before) continue;
        }
        if (this.final && lastSent >= this.final.lastSeq) {
          finish();
          this.finalEvent ??= { lines: [], finalStatus: this.final.status };
          return this.finalEvent;
        }
        await this.signal.promise;
      }
      return undefined;
    });
  }

  watchRun(): AsyncIterableIterator<TrainingRunEntity> {
    let first = true;
    return this.iterate<TrainingRunEntity>(async (finish) => {
      if (!first) await this.signal.promise;
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
    // A missed notification (a listener reconnecting) costs at most a few seconds: look again.
    this.recheck ??= setInterval(() => this.changed(), RECHECK_MS).unref();
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      this.release();
    };
    const stopped = () => done || this.closed;
    const iterator: AsyncIterableIterator<T> = {
      next: async () => {
        let value: T | undefined;
        try {
          value = stopped() ? undefined : await step(finish, stopped);
        } catch (error) {
          // graphql-ws reports the error to the client but never calls return(): let go here.
          finish();
          throw error;
        }
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

  /** The same object for every subscriber at the same place: server/live/shared-subscribe.ts executes an event object once for all of them. */
  private eventAfter(lastSent: number): TrainingLogEvent {
    let event = this.events.get(lastSent);
    if (!event) {
      const start = lastSent + 1 - (this.bufferEnd - this.buffer.length + 1);
      event = { lines: this.buffer.slice(start, start + MAX_EVENT_LINES), finalStatus: null };
      this.events.set(lastSent, event);
    }
    return event;
  }

  private push(lines: LogLine[]): void {
    for (const line of lines) this.buffer.push(line);
    if (this.buffer.length > SHARED_BUFFER_LINES) this.buffer.splice(0, this.buffer.length - SHARED_BUFFER_LINES);
    this.bufferEnd = lines[lines.length - 1].seq;
    this.events.clear();
    this.wake();
  }

  /** One read for all subscribers in this process. A failed read (a database blip) is tried again by the next notification or recheck. */
  private fetchShared(): Promise<void> {
    if (this.fetching) return this.fetching;
    // Assigned before the work can finish: a `??=` around an async function that completes without
    // awaiting would run its `finally` first and leave a settled promise behind for good.
    this.fetching = this.readNewLines()
      .catch(() => undefined)
      .finally(() => {
        this.fetching = null;
      });
    return this.fetching;
  }

  private async readNewLines(): Promise<void> {
    while (this.isReady && this.bufferEnd < this.knownSeq && !this.closed) {
      const lines = await this.training.linesAfter(this.runId, this.bufferEnd, 1000);
      // Lines handed over while this read ran are already in the buffer.
      const fresh = lines.filter((line) => line.seq > this.bufferEnd);
      if (fresh.length === 0) {
        if (lines.length === 0) break;
        continue;
      }
      if (fresh[0].seq !== this.bufferEnd + 1) this.buffer = [];
      this.push(fresh);
    }
  }

  private wake(): void {
    const { resolve } = this.signal;
    this.signal = deferred();
    resolve();
  }

  private stopTimers(): void {
    clearTimeout(this.ownTimer);
    clearInterval(this.recheck);
    this.ownTimer = this.recheck = undefined;
  }

  private release(): void {
    this.subscribers -= 1;
    if (this.subscribers <= 0) {
      this.stopTimers();
      this.onIdle();
    }
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}
