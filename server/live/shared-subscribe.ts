import { createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult } from 'graphql';

type Result = ExecutionResult | Promise<ExecutionResult>;

/** Sends a result to the subscriber itself; resolves true once written, false if it could not (the caller sends it then). */
export type DirectSend = (result: ExecutionResult) => Promise<boolean>;

export interface SharedSubscribeOptions {
  /** Subscriptions with the same key share each event's execution; undefined: executed on their own. */
  shareKey(args: ExecutionArgs): string | undefined;
  /** Where a subscription's results without errors go straight to its socket, bypassing graphql-ws's per-message work. */
  directSend?(args: ExecutionArgs): DirectSend | undefined;
}

/**
 * graphql's subscribe(), except that an event object reaching many subscriptions with the
 * same `shareKey` (document text, variables, operation name and caller) is executed once,
 * and every one of them gets that result. A feed that hands the same object to its 200
 * subscribers then costs one execution per event instead of 200. Subscriptions without a
 * key, and events that are not objects, are executed each on their own.
 *
 * With `directSend`, results without errors are written to the subscriber by it and the
 * iterator goes on to the next event: graphql-ws only sees results with errors (to format
 * and send) and the end. Each write completes before the next event is taken, as when
 * graphql-ws sends, so a slow client holds back its own feed, not the server's memory.
 */
export function sharedSubscribe(options: SharedSubscribeOptions) {
  const results = new WeakMap<object, Map<string, Result>>();
  return async (args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> => {
    const stream = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in stream)) return stream;
    const key = options.shareKey(args);
    const map = (event: unknown): Result => {
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
    };
    return mapEvents(stream, map, options.directSend?.(args));
  };
}

/** What graphql's own subscribe() does with the event stream: each event through `map`, return() passed on. */
function mapEvents(
  events: AsyncIterable<unknown>,
  map: (event: unknown) => Result,
  directSend: DirectSend | undefined,
): AsyncIterableIterator<ExecutionResult> {
  const source = events[Symbol.asyncIterator]();
  let closed = false;
  const close = async () => {
    closed = true;
    await source.return?.();
  };
  const mapped: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      try {
        for (;;) {
          const item = await source.next();
          if (item.done || closed) return { done: true, value: undefined };
          const result = await map(item.value);
          if (closed) return { done: true, value: undefined };
          if (!directSend || result.errors || !(await directSend(result))) return { done: false, value: result };
        }
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
