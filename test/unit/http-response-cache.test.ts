import assert from 'node:assert/strict';
import { parse, type OperationDefinitionNode } from 'graphql';
import { buildSchema } from '../../server/schema';
import { ResponseCache } from '../../server/http/response-cache';

function operationOf(source: string): OperationDefinitionNode {
  const definition = parse(source).definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition');
  assert.ok(definition);
  return definition;
}

describe('ResponseCache', () => {
  const cache = new ResponseCache(buildSchema());
  const answer = { status: 200, headers: [['content-type', 'application/json']] as [string, string][], body: '{"data":{}}', operationName: null };

  it('takes the max age of queries that select only @publicCache root fields from the SDL', () => {
    assert.equal(cache.maxAgeOf(operationOf('{ catalog { totalCount } }')), 5);
    assert.equal(cache.maxAgeOf(operationOf('query Q { __typename catalog { totalCount } one: catalogModel(slug: "a/b") { id } }')), 5);
  });

  it('refuses anything else: other fields, mutations, subscriptions, root fragments, a bare __typename', () => {
    for (const source of [
      '{ catalog { totalCount } serverInfo { version } }',
      '{ me { id } }',
      'mutation { revokeApiKey(id: "key_x") { id } }',
      'subscription { serverTime { time } }',
      '{ ...F } fragment F on Query { catalog { totalCount } }',
      '{ ... on Query { catalog { totalCount } } }',
      '{ __typename }',
    ]) {
      assert.equal(cache.maxAgeOf(operationOf(source)), undefined, source);
    }
  });

  it('keys only anonymous JSON POST bodies', () => {
    const json = { 'content-type': 'application/json; charset=utf-8' };
    assert.equal(cache.keyOf({ method: 'POST', headers: json }, '{"query":"{ catalog { totalCount } }"}'), '{"query":"{ catalog { totalCount } }"}');
    assert.equal(cache.keyOf({ method: 'POST', headers: { ...json, authorization: 'Bearer vk_x' } }, '{}'), undefined);
    assert.equal(cache.keyOf({ method: 'GET', headers: json }, ''), undefined);
    assert.equal(cache.keyOf({ method: 'POST', headers: { 'content-type': 'text/plain; application/json' } }, '{}'), undefined);
    assert.equal(cache.keyOf({ method: 'POST', headers: json }, `{"query":"${' '.repeat(9000)}"}`), undefined);
  });

  it('does not store an answer computed before a clear()', () => {
    const local = new ResponseCache(buildSchema());
    const generation = local.generation;
    local.clear();
    local.set('k', answer, 5, generation);
    assert.equal(local.get('k'), undefined);
    local.set('k', answer, 5, local.generation);
    assert.deepEqual(local.get('k'), answer);
  });

  it('forgets an answer after its max age', async () => {
    const local = new ResponseCache(buildSchema());
    local.set('k', answer, 0.05, local.generation);
    assert.ok(local.get('k'));
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.equal(local.get('k'), undefined);
  });
});
