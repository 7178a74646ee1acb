import assert from 'node:assert/strict';
import { GraphQLError, GraphQLInt, GraphQLObjectType, GraphQLSchema, parse, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { sharedSubscribe } from '../../server/live/shared-subscribe';

describe('sharedSubscribe', () => {
  // Every subscription sees the same two event objects; `resolved` counts executions of the field.
  const events = [{ n: 1 }, { n: 2 }];
  let resolved = 0;
  const count = (tick: { n: number }) => {
    resolved += 1;
    return tick.n;
  };
  const Tick = new GraphQLObjectType({ name: 'Tick', fields: { n: { type: GraphQLInt, resolve: count } } });
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLInt, resolve: () => 1 } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        tick: {
          type: Tick,
          subscribe: async function* () {
            yield* events;
          },
          resolve: (tick: unknown) => tick,
        },
      },
    }),
  });

  const collect = async (subscribe: ReturnType<typeof sharedSubscribe>, args: ExecutionArgs): Promise<ExecutionResult[]> => {
    const stream = await subscribe(args);
    assert.ok(Symbol.asyncIterator in stream);
    const results: ExecutionResult[] = [];
    for await (const result of stream) results.push(result);
    return results;
  };

  it('executes an event once for subscriptions with the same key, and gives each the same result', async () => {
    resolved = 0;
    const keys = new Map<ExecutionArgs, string>();
    const subscribe = sharedSubscribe({ shareKey: (args) => keys.get(args) });
    const args = [0, 1, 2].map(() => ({ schema, document: parse('subscription { tick { n } }') }));
    for (const one of args) keys.set(one, 'same');
    const [first, ...others] = await Promise.all(args.map((one) => collect(subscribe, one)));
    assert.deepEqual(JSON.parse(JSON.stringify(first)), [{ data: { tick: { n: 1 } } }, { data: { tick: { n: 2 } } }]);
    for (const other of others) other.forEach((result, index) => assert.equal(result, first[index]));
    assert.equal(resolved, 2);
  });

  it('executes separately for another key or no key', async () => {
    resolved = 0;
    const keys = new Map<ExecutionArgs, string>();
    const subscribe = sharedSubscribe({ shareKey: (args) => keys.get(args) });
    const a = { schema, document: parse('subscription { tick { n } }') };
    const b = { schema, document: parse('subscription { tick { n } }') };
    const c = { schema, document: parse('subscription { tick { n } }') };
    keys.set(a, 'vendor a');
    keys.set(b, 'vendor b');
    await Promise.all([a, b, c].map((one) => collect(subscribe, one)));
    assert.equal(resolved, 6);
  });

  describe('directSend', () => {
    // A feed the test drives: each push() is one event; end() finishes it.
    function controlledSchema() {
      const queue: unknown[] = [];
      let wake: (() => void) | undefined;
      let ended = false;
      let taken = 0;
      const feed = {
        push(event: unknown) {
          queue.push(event);
          wake?.();
        },
        end() {
          ended = true;
          wake?.();
        },
        get taken() {
          return taken;
        },
      };
      const Item = new GraphQLObjectType({
        name: 'Item',
        fields: {
          n: {
            type: GraphQLInt,
            resolve: (item: { n: number }) => {
              if (item.n < 0) throw new GraphQLError('negative');
              return item.n;
            },
          },
        },
      });
      const schema = new GraphQLSchema({
        query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLInt, resolve: () => 1 } } }),
        subscription: new GraphQLObjectType({
          name: 'Subscription',
          fields: {
            item: {
              type: Item,
              subscribe: async function* () {
                for (;;) {
                  while (queue.length === 0 && !ended) await new Promise<void>((resolve) => (wake = resolve));
                  if (queue.length === 0) return;
                  taken += 1;
                  yield queue.shift();
                }
              },
              resolve: (item: unknown) => item,
            },
          },
        }),
      });
      return { schema, feed, args: { schema, document: parse('subscription { item { n } }') } as ExecutionArgs };
    }

    const tick = () => new Promise((resolve) => setImmediate(resolve));

    it('hands results without errors to directSend instead of yielding them, and yields results with errors', async () => {
      const { feed, args } = controlledSchema();
      const sent: unknown[] = [];
      const subscribe = sharedSubscribe({
        shareKey: () => undefined,
        directSend: () => async (result) => (sent.push(JSON.parse(JSON.stringify(result))), true),
      });
      const stream = (await subscribe(args)) as AsyncIterableIterator<ExecutionResult>;
      feed.push({ n: 1 });
      feed.push({ n: 2 });
      feed.push({ n: -1 });
      const first = await stream.next();
      assert.deepEqual(sent, [{ data: { item: { n: 1 } } }, { data: { item: { n: 2 } } }]);
      assert.equal(first.done, false);
      assert.equal(first.value?.errors?.[0]?.message, 'negative');
      feed.push({ n: 3 });
      feed.end();
      assert.deepEqual(await stream.next(), { done: true, value: undefined });
      assert.equal(sent.length, 3);
    });

    it('yields a result that directSend could not send (false)', async () => {
      const { feed, args } = controlledSchema();
      const subscribe = sharedSubscribe({ shareKey: () => undefined, directSend: () => async () => false });
      const stream = (await subscribe(args)) as AsyncIterableIterator<ExecutionResult>;
      feed.push({ n: 7 });
      const next = await stream.next();
      assert.deepEqual(JSON.parse(JSON.stringify(next.value)), { data: { item: { n: 7 } } });
    });

    it('takes the next event only once the previous write completed', async () => {
      const { feed, args } = controlledSchema();
      const writes: (() => void)[] = [];
      const subscribe = sharedSubscribe({
        shareKey: () => undefined,
        directSend: () => () => new Promise<boolean>((resolve) => writes.push(() => resolve(true))),
      });
      const stream = (await subscribe(args)) as AsyncIterableIterator<ExecutionResult>;
      const pending = stream.next();
      feed.push({ n: 1 });
      feed.push({ n: 2 });
      await tick();
      await tick();
      assert.equal(writes.length, 1, 'the second event waits for the first write');
      assert.equal(feed.taken, 1);
      writes[0]();
      await tick();
      await tick();
      assert.equal(writes.length, 2);
      writes[1]();
      feed.end();
      assert.equal((await pending).done, true);
    });

    it('sends nothing more after return()', async () => {
      const { feed, args } = controlledSchema();
      let sent = 0;
      const subscribe = sharedSubscribe({ shareKey: () => undefined, directSend: () => async () => ((sent += 1), true) });
      const stream = (await subscribe(args)) as AsyncIterableIterator<ExecutionResult>;
      const pending = stream.next();
      feed.push({ n: 1 });
      await tick();
      await tick();
      assert.equal(sent, 1);
      // An async generator finishes return() only once its pending next() has its event.
      const returned = stream.return?.();
      feed.push({ n: 2 });
      assert.equal((await pending).done, true);
      await returned;
      assert.equal(sent, 1, 'the event that arrived after return() was not sent');
    });
  });
});
