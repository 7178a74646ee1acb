import assert from 'node:assert/strict';
import { SequenceFeeds, type SequenceSource } from '../../server/live';

interface Item {
  seq: number;
  text: string;
}
interface Event {
  items: Item[];
  final: string | null;
}

/** An in-memory store standing for the database: what is "committed" is what a feed may read. */
function memorySource(maxEventItems = 3) {
  const items: Item[] = [];
  let final: string | null = null;
  const reads: { afterSeq: number; limit: number }[] = [];
  const source: SequenceSource<Item, string, Event> = {
    state: async () => ({ lastSeq: items.length, final }),
    itemsAfter: async (_key, afterSeq, limit) => {
      reads.push({ afterSeq, limit });
      return items.slice(afterSeq, afterSeq + limit);
    },
    event: (batch, last) => ({ items: batch, final: last }),
    maxEventItems,
  };
  const commit = (...texts: string[]) => {
    const added = texts.map((text, index) => ({ seq: items.length + 1 + index, text }));
    items.push(...added);
    return added;
  };
  return { source, commit, reads, end: (value: string) => (final = value) };
}

async function take<T>(iterator: AsyncIterableIterator<T>, count: number): Promise<T[]> {
  const values: T[] = [];
  while (values.length < count) {
    const next = await iterator.next();
    if (next.done) break;
    values.push(next.value);
  }
  return values;
}

describe('live sequence feeds', () => {
  it('replays the committed items after the given seq, then follows new ones, then ends with the final event', async () => {
    const store = memorySource();
    store.commit('a', 'b', 'c', 'd');
    const feeds = new SequenceFeeds(store.source);
    const iterator = await feeds.follow('k', 1);
    // Replayed from the store in events of at most maxEventItems (3).
    const replay = await take(iterator, 1);
    assert.deepEqual(
      replay.map((event) => event.items.map((item) => item.text)),
      [['b', 'c', 'd']],
    );
    const pending = iterator.next();
    feeds.stored('k', store.commit('e', 'f', 'g', 'h'));
    const live = [await pending, await iterator.next()];
    assert.deepEqual(
      live.map((next) => (next.done ? [] : next.value.items.map((item) => item.text))),
      [['e', 'f', 'g'], ['h']],
    );
    store.end('SUCCEEDED');
    feeds.changed('k');
    const last = await iterator.next();
    assert.equal(last.done, false);
    assert.deepEqual(last.value, { items: [], final: 'SUCCEEDED' });
    assert.equal((await iterator.next()).done, true);
    feeds.close();
  });

  it('gives every subscriber at the same place the same event object, and a late one only what follows its seq', async () => {
    const store = memorySource(10);
    const feeds = new SequenceFeeds(store.source);
    const first = await feeds.follow('k', 0);
    const second = await feeds.follow('k', 0);
    const [a, b] = [first.next(), second.next()];
    feeds.stored('k', store.commit('x', 'y'));
    const [eventA, eventB] = await Promise.all([a, b]);
    assert.equal(eventA.value, eventB.value, 'one object for both');
    const late = await feeds.follow('k', 1);
    const lateEvent = await late.next();
    assert.deepEqual(
      lateEvent.value.items.map((item: Item) => item.text),
      ['y'],
    );
    await Promise.all([first.return!(), second.return!(), late.return!()]);
    feeds.close();
  });

  it('reads items another process announced, once for all subscribers, when they were not carried along', async () => {
    const store = memorySource(10);
    const feeds = new SequenceFeeds(store.source);
    const subscribers = await Promise.all([feeds.follow('k', 0), feeds.follow('k', 0), feeds.follow('k', 0)]);
    const nexts = subscribers.map((iterator) => iterator.next());
    store.commit('p', 'q', 'r');
    const readsBefore = store.reads.length;
    feeds.notified('k', 3, null);
    const events = await Promise.all(nexts);
    assert.ok(events.every((event) => event.value === events[0].value));
    assert.deepEqual(
      events[0].value.items.map((item: Item) => item.text),
      ['p', 'q', 'r'],
    );
    assert.equal(store.reads.length - readsBefore, 1, 'one shared read');
    await Promise.all(subscribers.map((iterator) => iterator.return!()));
    feeds.close();
  });

  it('ends a subscription at once on return(), and drops the feed with its last subscriber', async () => {
    const store = memorySource();
    const feeds = new SequenceFeeds(store.source);
    const iterator = await feeds.follow('k', 0);
    const waiting = iterator.next();
    await iterator.return!();
    assert.equal((await waiting).done, true);
    // A new subscriber gets a new feed that reads the state afresh.
    store.commit('z');
    const again = await feeds.follow('k', 0);
    assert.deepEqual(
      (await again.next()).value.items.map((item: Item) => item.text),
      ['z'],
    );
    await again.return!();
    feeds.close();
  });

  it('watches a value on every change, with one load per change for all watchers, and ends after the last one', async () => {
    const store = memorySource();
    const feeds = new SequenceFeeds(store.source);
    let loads = 0;
    const load = async () => ({ version: ++loads });
    const watchers = await Promise.all([1, 2, 3].map(() => feeds.watch('k', 'thing', load, (value) => value.version >= 2)));
    const first = await Promise.all(watchers.map((watcher) => watcher.next()));
    assert.equal(loads, 1, 'one load for three watchers');
    assert.ok(
      first.every((next) => next.value === first[0].value),
      'and one value object',
    );
    const pending = watchers.map((watcher) => watcher.next());
    feeds.changed('k');
    const second = await Promise.all(pending);
    assert.equal(loads, 2);
    assert.deepEqual(
      second.map((next) => next.value),
      [{ version: 2 }, { version: 2 }, { version: 2 }],
    );
    for (const watcher of watchers) assert.equal((await watcher.next()).done, true);
    feeds.close();
  });
});
