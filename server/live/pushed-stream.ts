/**
 * An async iterator fed by pushes, for a subscription whose events come from a listener: values
 * wait in a bounded queue (the oldest are dropped past `maxQueued`, so a stalled subscriber
 * never holds memory without end), `return()` ends it and calls `onEnd` once.
 */
export interface PushedStream<T> {
  iterator: AsyncIterableIterator<T>;
  push(value: T): void;
  /** Puts a value ahead of everything pushed so far (a subscription's current state). */
  pushFirst(value: T): void;
}

export function pushedStream<T>(options: { maxQueued: number; onEnd: () => void }): PushedStream<T> {
  const queue: T[] = [];
  let wake: ((result: IteratorResult<T>) => void) | null = null;
  let done = false;
  const deliver = (value: T, first: boolean): void => {
    if (done) return;
    if (wake) {
      const resolve = wake;
      wake = null;
      resolve({ value, done: false });
      return;
    }
    if (first) queue.unshift(value);
    else if (queue.push(value) > options.maxQueued) queue.shift();
  };
  const finish = (): Promise<IteratorResult<T>> => {
    if (!done) {
      done = true;
      options.onEnd();
    }
    wake?.({ value: undefined, done: true });
    wake = null;
    return Promise.resolve({ value: undefined, done: true });
  };
  const iterator: AsyncIterableIterator<T> = {
    next: () => {
      if (queue.length > 0) return Promise.resolve({ value: queue.shift()!, done: false });
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => (wake = resolve));
    },
    return: finish,
    throw: async (error: unknown) => {
      await finish();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return { iterator, push: (value) => deliver(value, false), pushFirst: (value) => deliver(value, true) };
}
