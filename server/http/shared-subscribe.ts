import { createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult } from 'graphql';

type Result = ExecutionResult | Promise<ExecutionResult>;

/**
 * graphql's subscribe(), except that an event object reaching many subscriptions with the
 * same `shareKey` (document text, variables, operation name and caller) is executed once,
 * and every one of them gets that result. A feed that hands the same object to its 200
 * subscribers then costs one execution per event instead of 200. Subscriptions without a
 * key, and events that are not objects, are executed each on their own.
 */
export function sharedSubscribe(shareKey: (args: ExecutionArgs) => string | undefined) {
  const results = new WeakMap<object, Map<string, Result>>();
  return async (args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> => {
    const stream = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in stream)) return stream;
    const key = shareKey(args);
    return mapEvents(stream, (event) => {
      if (key === undefined || typeof event !== 'object' || event === null) return execute({ ...args, rootValue: event });
      let byKey = results.get(event);
      if (!byKey) {
        byKey = new Map();
        results.set(event, byKey);
      }
      let result = byKey.get(key);
      if (!result) {
        result = execute({ ...args, rootValue: event });
        byKey.set(key, result);
      }
      return result;
    });
  };
}

/** What graphql's own subscribe() does with the event stream: each event through `map`, return() passed on. */
function mapEvents<T>(events: AsyncIterable<unknown>, map: (event: unknown) => T | Promise<T>): AsyncIterableIterator<T> {
  const source = events[Symbol.asyncIterator]();
  const close = async () => {
    await source.return?.();
  };
  const mapped: AsyncIterableIterator<T> = {
    async next() {
      try {
        const item = await source.next();
        if (item.done) return { done: true, value: undefined };
        return { done: false, value: await map(item.value) };
      } catch (error) {
        // graphql-ws sends the error to the client and never calls return(): close the source here.
        await close().catch(() => undefined);
        throw error;
      }
    },
    async return() {
      await close();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return mapped;
    },
  };
  return mapped;
}
