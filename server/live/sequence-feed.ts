/**
 * Live feeds of numbered items (log lines, heartbeats...) per key (a run, a deployment), with
 * replay-then-follow: a subscriber gets the committed items after the seq it names, then each
 * new one, then a final event once the key has ended. New items reach a key's feed once per
 * process: handed over by this process's writer after they are committed, carried in a
 * notification from another process, or else read from the database once. Every subscriber at
 * the same place gets the same event object (so shared-subscribe.ts executes it once); one
 * that is behind (replaying, or slow) reads its own pages. Each subscriber remembers the last
 * seq it sent, so nothing is sent twice or skipped, whichever process wrote the items. The
 * owner of the items listens on its own channel and tells the feeds what it heard.
 */

/** Where a feed's items come from, and how its events look (the SDL's event type). */
export interface SequenceSource<Item extends { seq: number }, Final, Event> {
  /** The key's highest committed seq and, once it has ended, its final value (else null). */
  state(key: string): Promise<{ lastSeq: number; final: Final | null }>;
  /** Committed items after `afterSeq`, seq ascending, at most `limit`. */
  itemsAfter(key: string, afterSeq: number, limit: number): Promise<Item[]>;
  /** The event carrying `items` (or, with `final`, the last event). */
  event(items: Item[], final: Final | null): Event;
  /** The most items one event carries. */
  maxEventItems: number;
}

const SHARED_BUFFER_ITEMS = 10_000;
const REPLAY_PAGE = 500;
/** A notification of this process's own items that the writer never handed over is read after this long. */
const OWN_ITEMS_GRACE_MS = 1000;
/** Followers look at the key again this often, in case a notification was missed. */
const RECHECK_MS = 5000;

/** This process's feeds, one per key being followed; a feed goes when its last subscriber does. */
export class SequenceFeeds<Item extends { seq: number }, Final, Event> {
  private readonly feeds = new Map<string, SequenceFeed<Item, Final, Event>>();

  constructor(private readonly source: SequenceSource<Item, Final, Event>) {}

  /** Replay after `afterSeq`, then follow; the last event carries the final value. */
  async follow(key: string, afterSeq: number): Promise<AsyncIterableIterator<Event>> {
    return (await this.feedOf(key)).subscribe(Math.max(0, afterSeq));
  }

  /** `load()` now and each time the key changes, one load per change for all watchers of `name`; ends after a value `isLast` accepts. */
  async watch<T>(key: string, name: string, load: () => Promise<T>, isLast: (value: T) => boolean): Promise<AsyncIterableIterator<T>> {
    return (await this.feedOf(key)).watch(name, load, isLast);
  }

  /** Items this process just committed (seq ascending, contiguous). */
  stored(key: string, items: Item[]): void {
    if (items.length > 0) this.feeds.get(key)?.append(items);
  }

  /** Another process committed items up to `lastSeq` (carried along when they fit). */
  notified(key: string, lastSeq: number, items: Item[] | null): void {
    this.feeds.get(key)?.notified(lastSeq, items);
  }

  /** This process committed items up to `lastSeq` and will hand them over itself. */
  expectOwn(key: string, lastSeq: number): void {
    this.feeds.get(key)?.expectOwn(lastSeq);
  }

  /** The key changed in some other way (its state is read again); without a key, every feed. */
  changed(key?: string): void {
    if (key === undefined) for (const feed of this.feeds.values()) feed.changed();
    else this.feeds.get(key)?.changed();
  }

  close(): void {
    for (const feed of this.feeds.values()) feed.close();
  }

  /** Every subscriber of a key waits for the same feed to be ready (its first read of the key). */
  private async feedOf(key: string): Promise<SequenceFeed<Item, Final, Event>> {
    for (;;) {
      let feed = this.feeds.get(key);
      if (!feed) {
        const created: SequenceFeed<Item, Final, Event> = new SequenceFeed(key, this.source, () => {
          if (this.feeds.get(key) === created) this.feeds.delete(key);
        });
        feed = created;
        this.feeds.set(key, feed);
        feed.ready.catch(() => {
          if (this.feeds.get(key) === created) this.feeds.delete(key);
        });
      }
      await feed.ready;
      // While we waited, the feed's last subscriber may have left and the feed been dropped:
      // following it would get no items. Take (or make) the registered one instead.
      if (this.feeds.get(key) === feed) return feed;
    }
  }
}

/** One key's feed in one process: a shared buffer of recent items and the subscribers following them. */
class SequenceFeed<Item extends { seq: number }, Final, Event> {
  /** Recent items, contiguous, ending at bufferEnd. */
  private buffer: Item[] = [];
  /** Highest seq in (or skipped past by) the shared buffer: items before the buffer are read from the database. */
  private bufferEnd = 0;
  /** Highest seq known to be committed. */
  private knownSeq = 0;
  private isReady = false;
  private final: { value: Final; lastSeq: number } | null = null;
  private finalEvent: Event | null = null;
  /** The event for subscribers whose last seq is the key, valid until the buffer changes. */
  private events = new Map<number, Event>();
  private fetching: Promise<void> | null = null;
  private signal = deferred();
  private ownExpected = 0;
  private ownTimer: NodeJS.Timeout | undefined;
  private recheck: NodeJS.Timeout | undefined;
  private subscribers = 0;
  private closed = false;
  /** Bumped by every wake: watchers load again once it moved. */
  private generation = 0;
  private readonly loads = new Map<string, { generation: number; value: Promise<unknown> }>();

  constructor(
    readonly key: string,
    private readonly source: SequenceSource<Item, Final, Event>,
    private readonly onIdle: () => void,
  ) {
    this.ready = this.init();
  }

  /** Resolves once the key's position and final state are known. */
  readonly ready: Promise<void>;

  private async init(): Promise<void> {
    const state = await this.source.state(this.key);
    // Items that arrived during this read are not in the buffer: subscribers read them from the database.
    this.bufferEnd = this.knownSeq = Math.max(this.knownSeq, state.lastSeq);
    if (state.final !== null) this.final = { value: state.final, lastSeq: state.lastSeq };
    this.isReady = true;
  }

  /** Another process stored items up to `lastSeq`, perhaps carried along. */
  notified(lastSeq: number, items: Item[] | null): void {
    if (items && items[items.length - 1].seq === lastSeq) return this.append(items);
    this.knownSeq = Math.max(this.knownSeq, lastSeq);
    void this.fetchShared();
  }

  /**
   * This process's writer stored items up to `lastSeq` and hands them over itself, usually
   * just after this notification; only if it never does are they read.
   */
  expectOwn(lastSeq: number): void {
    this.ownExpected = Math.max(this.ownExpected, lastSeq);
    this.ownTimer ??= setTimeout(() => {
      this.ownTimer = undefined;
      if (this.bufferEnd < this.ownExpected) this.notified(this.ownExpected, null);
    }, OWN_ITEMS_GRACE_MS);
  }

  /** Committed items, seq ascending and contiguous; a gap before them is read from the database. */
  append(lines: Item[]): void {
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

  /** Something about the key changed (or a notification may have been missed): read its state again. */
  changed(): void {
    void this.source
      .state(this.key)
      .then((state) => {
        this.knownSeq = Math.max(this.knownSeq, state.lastSeq);
        if (state.final !== null) this.final = { value: state.final, lastSeq: state.lastSeq };
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

  subscribe(afterSeq: number): AsyncIterableIterator<Event> {
    let lastSent = afterSeq;
    let page: Item[] = [];
    return this.iterate<Event>(async (finish, stopped) => {
      while (!stopped()) {
        if (page.length > 0) {
          const items = page.splice(0, this.source.maxEventItems);
          lastSent = items[items.length - 1].seq;
          return this.source.event(items, null);
        }
        if (lastSent + 1 < this.bufferEnd - this.buffer.length + 1) {
          // Behind the shared buffer: this subscriber reads its own pages.
          page = await this.source.itemsAfter(this.key, lastSent, REPLAY_PAGE);
          if (page.length > 0) continue;
        } else if (lastSent < this.bufferEnd) {
          const { event, lastSeq } = this.eventAfter(lastSent);
          lastSent = lastSeq;
          return event;
        } else if (lastSent < this.knownSeq) {
          const before = this.bufferEnd;
          await this.fetchShared();
          if (this.bufferEnd > before) continue;
        }
        if (this.final && lastSent >= this.final.lastSeq) {
          finish();
          this.finalEvent ??= this.source.event([], this.final.value);
          return this.finalEvent;
        }
        await this.signal.promise;
      }
      return undefined;
    });
  }

  /**
   * `load()` now and after every change of the key; ends after a value that `isLast` accepts.
   * Watchers of the same `name` share one load per change (and so one value object).
   */
  watch<T>(name: string, load: () => Promise<T>, isLast: (value: T) => boolean): AsyncIterableIterator<T> {
    let seen = -1;
    return this.iterate<T>(async (finish, stopped) => {
      while (seen === this.generation && !stopped()) await this.signal.promise;
      if (stopped()) return undefined;
      seen = this.generation;
      const value = await this.sharedLoad(name, load);
      if (isLast(value)) finish();
      return value;
    });
  }

  private sharedLoad<T>(name: string, load: () => Promise<T>): Promise<T> {
    const cached = this.loads.get(name);
    if (cached && cached.generation === this.generation) return cached.value as Promise<T>;
    const value = load();
    this.loads.set(name, { generation: this.generation, value });
    // A failed load is not shared with later watchers.
    value.catch(() => {
      if (this.loads.get(name)?.value === value) this.loads.delete(name);
    });
    return value;
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

  /** The same object for every subscriber at the same place: shared-subscribe.ts executes an event object once for all of them. */
  private eventAfter(lastSent: number): { event: Event; lastSeq: number } {
    const start = lastSent + 1 - (this.bufferEnd - this.buffer.length + 1);
    const lastSeq = Math.min(this.bufferEnd, lastSent + this.source.maxEventItems);
    let event = this.events.get(lastSent);
    if (!event) {
      event = this.source.event(this.buffer.slice(start, start + this.source.maxEventItems), null);
      this.events.set(lastSent, event);
    }
    return { event, lastSeq };
  }

  private push(lines: Item[]): void {
    for (const line of lines) this.buffer.push(line);
    if (this.buffer.length > SHARED_BUFFER_ITEMS) this.buffer.splice(0, this.buffer.length - SHARED_BUFFER_ITEMS);
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
      const lines = await this.source.itemsAfter(this.key, this.bufferEnd, 1000);
      // Items handed over while this read ran are already in the buffer.
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
    this.generation += 1;
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
