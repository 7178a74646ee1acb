import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Kind, parse, validate, type OperationDefinitionNode } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { DEFAULT_TABS } from '../../server/graphiql/default-tabs';
import { graphiqlAssetsDir } from '../../server/http/graphiql';
import { buildSchema } from '../../server/schema';
import { postGraphQL, startTestServer, type TestServer } from '../helpers/server';

const ROOT = path.resolve(__dirname, '../..');

function operationsOf(query: string): OperationDefinitionNode[] {
  return parse(query).definitions.filter((definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION);
}

describe("GraphiQL's opening tabs", function () {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });

  after(async () => {
    await server?.close();
  });

  it('hold one valid operation each, the catalog query first and the clock subscription second', () => {
    const schema = buildSchema();
    assert.deepEqual(
      DEFAULT_TABS.map((tab) => operationsOf(tab.query).map((operation) => `${operation.operation} ${operation.name?.value}`)),
      [['query Catalog'], ['subscription Clock']],
    );
    for (const tab of DEFAULT_TABS) assert.deepEqual(validate(schema, parse(tab.query)), []);
  });

  it('run without an API key: the catalog query over HTTP, the clock over WebSocket', async () => {
    const catalog = await postGraphQL<{ catalog: { totalCount: number; nodes: { slug: string }[] } }>(server.graphqlUrl, DEFAULT_TABS[0].query);
    assert.equal(catalog.errors, undefined);
    assert.ok((catalog.data?.catalog.nodes.length ?? 0) > 0, 'the demo catalog shows');

    const client = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      const sequences: number[] = [];
      for await (const event of client.iterate<{ serverTime: { sequence: number } }>({ query: DEFAULT_TABS[1].query })) {
        assert.equal(event.errors, undefined);
        sequences.push(event.data!.serverTime.sequence);
        if (sequences.length === 2) break;
      }
      assert.equal(sequences[1], sequences[0] + 1);
    } finally {
      await client.dispose();
    }
  });

  it('are what the built page opens with', async function () {
    this.timeout(300_000);
    // Rebuilds only when server/graphiql changed since the last build.
    await promisify(execFile)(process.execPath, ['scripts/build-graphiql.mjs'], { cwd: ROOT });
    const page = (await readdir(graphiqlAssetsDir())).find((file) => /^graphiql-\w+\.js$/.test(file));
    assert.ok(page, 'the page bundle exists');
    const bundle = await readFile(path.join(graphiqlAssetsDir(), page), 'utf8');
    for (const tab of DEFAULT_TABS) {
      for (const line of tab.query.split('\n').filter((text) => /^[\x20-\x7e]+$/.test(text))) {
        assert.ok(bundle.includes(line), `the bundle lacks "${line}"`);
      }
    }
    assert.ok(!bundle.includes('select it and run'), 'no longer one tab of several operations');
  });
});
