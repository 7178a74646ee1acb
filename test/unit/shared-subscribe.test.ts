import assert from 'node:assert/strict';
import { GraphQLInt, GraphQLObjectType, GraphQLSchema, parse, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { sharedSubscribe } from '../../server/http/shared-subscribe';

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
    const subscribe = sharedSubscribe((args) => keys.get(args));
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
    const subscribe = sharedSubscribe((args) => keys.get(args));
    const a = { schema, document: parse('subscription { tick { n } }') };
    const b = { schema, document: parse('subscription { tick { n } }') };
    const c = { schema, document: parse('subscription { tick { n } }') };
    keys.set(a, 'vendor a');
    keys.set(b, 'vendor b');
    await Promise.all([a, b, c].map((one) => collect(subscribe, one)));
    assert.equal(resolved, 6);
  });
});
