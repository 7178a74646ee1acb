import assert from 'node:assert/strict';
import { startTestServer, usingPostgres, type TestServer } from '../helpers/server';
import { newId } from '../../server/db/ids';
import { CATALOG_CHANNEL } from '../../server/modules/catalog/catalog.service';
import type { ResultOf } from '@graphql-typed-document-node/core';
import {
  TestCachedCatalogDocument as CATALOG,
  TestCatalogModelIdDocument,
  TestCatalogTotalDocument,
  TestServerInfoAndCatalogTotalDocument,
  type TypedDocumentString,
} from '../../generated/test-operations';

interface Answer {
  status: number;
  contentType: string | null;
  text: string;
}

describe(`response cache for anonymous @publicCache queries (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, () => {
  let server: TestServer;
  let vendorId: string;

  before(async () => {
    server = await startTestServer();
    vendorId = (await server.createVendor('Cache Vendor')).vendorId;
  });

  after(async () => {
    await server.close();
  });

  /** The JSON body of one operation: its document's text and, if any, its variables. */
  const bodyOf = <TVariables>(document: TypedDocumentString<unknown, TVariables>, variables?: TVariables) =>
    JSON.stringify({ query: document.toString(), variables });

  async function post<TVariables>(
    document: TypedDocumentString<unknown, TVariables>,
    headers: Record<string, string> = {},
    variables?: TVariables,
  ): Promise<Answer> {
    const response = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: bodyOf(document, variables),
    });
    return { status: response.status, contentType: response.headers.get('content-type'), text: await response.text() };
  }

  async function counts(): Promise<Record<'hit' | 'miss', number>> {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const read = (result: string) => Number(new RegExp(`^mp_graphql_response_cache_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    return { hit: read('hit'), miss: read('miss') };
  }

  async function publishModel(name: string): Promise<void> {
    await server.database.dataSource.query(
      `INSERT INTO catalog_models (id, vendor_id, name, slug, description, task, status, tags, created_at, published_at)
       VALUES ($1, $2, $3, $4, 'cache test', 'SIGNAL', 'PUBLISHED', '{}', now(), now())`,
      [newId('catalogModel'), vendorId, name, `cache-vendor/${name}`],
    );
  }

  const totalOf = (answer: Answer) => (JSON.parse(answer.text) as { data: ResultOf<typeof CATALOG> }).data.catalog.totalCount;

  it('answers the same anonymous catalog query from memory, byte for byte, until a catalog change is announced', async () => {
    const before = await counts();
    const first = await post(CATALOG);
    const second = await post(CATALOG);
    assert.equal(first.status, 200);
    assert.deepEqual(second, first);
    const after = await counts();
    assert.equal(after.miss - before.miss, 1);
    assert.equal(after.hit - before.hit, 1);

    // A row written without an announcement: the cached answer stands.
    await publishModel('unannounced');
    assert.equal((await post(CATALOG)).text, first.text);

    // The announcement every writer of catalog rows sends clears the cache (on every process).
    await server.database.notifications.notify(server.database.dataSource, CATALOG_CHANNEL, '');
    const deadline = Date.now() + 5_000;
    let latest = await post(CATALOG);
    while (totalOf(latest) === totalOf(first) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      latest = await post(CATALOG);
    }
    assert.equal(totalOf(latest), totalOf(first) + 1, 'the announcement cleared the cached answer');
  });

  it('never caches for callers with an API key, queries over other fields, or answers with errors', async () => {
    const { apiKey } = await server.createVendor('Keyed Reader');
    const before = await counts();
    for (let i = 0; i < 2; i++) {
      assert.equal((await post(CATALOG, { authorization: `Bearer ${apiKey}` })).status, 200);
      assert.equal((await post(TestServerInfoAndCatalogTotalDocument, {}, { first: 1 })).status, 200);
      const missing = JSON.parse((await post(TestCatalogModelIdDocument, {}, { slug: 'nobody/nothing' })).text) as { errors?: unknown[] };
      assert.ok(missing.errors?.length);
    }
    assert.deepEqual(await counts(), before);
  });

  it('keeps CSRF prevention: a cached body sent as text/plain is still refused', async () => {
    const variables = { first: 2 };
    await post(TestCatalogTotalDocument, {}, variables);
    assert.equal((await post(TestCatalogTotalDocument, {}, variables)).status, 200);
    const simple = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: bodyOf(TestCatalogTotalDocument, variables),
    });
    assert.equal(simple.status, 400);
    assert.match(await simple.text(), /CSRF|preflight/i);
  });
});
