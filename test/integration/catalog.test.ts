import assert from 'node:assert/strict';
import { startTestServer, usingPostgres, type GraphQLResponse, type TestServer } from '../helpers/server';
import { newId } from '../../server/db/ids';
import { TestCatalogDocument as CATALOG, TestCatalogModelDocument, type CatalogSort, type TestCatalogQuery } from '../../generated/test-operations';

describe(`catalog read path (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
    // 45 more published models from one extra vendor, for paging.
    const vendor = await server.createVendor('Paging Vendor');
    for (let i = 0; i < 45; i++) {
      await server.database.dataSource.query(
        `INSERT INTO catalog_models (id, vendor_id, name, slug, description, task, status, tags, created_at, published_at)
         VALUES ($1, $2, $3, $4, 'bulk model', 'SIGNAL', 'PUBLISHED', '{bulk}', now() - ($5 || ' minutes')::interval, now() - ($5 || ' minutes')::interval)`,
        [newId('catalogModel'), vendor.vendorId, `Bulk ${String(i).padStart(2, '0')}`, `${vendor.handle}/bulk-${i}`, String(i)],
      );
    }
  });

  after(async () => {
    await server.close();
  });

  it('lists published models without a key, newest first, with their vendors', async () => {
    const response = await server.graphql(CATALOG, { filter: { vendor: 'demo' } });
    assert.equal(response.errors, undefined);
    const slugs = response.data!.catalog.nodes.map((node) => node.slug);
    assert.deepEqual(slugs, ['demo/momentum-ridge', 'demo/equal-weight-consensus', 'demo/mean-reversion-gbt', 'demo/volatility-regime']);
    assert.equal(response.data!.catalog.nodes[0].vendor.displayName, 'NeuroNetIQ Demo Lab');
    assert.ok(!slugs.includes('demo/next-gen'), 'drafts are never listed');
  });

  it('filters by task, vendor, tags and search words', async () => {
    const byTask = await server.graphql(CATALOG, { filter: { task: 'OPTIMIZER' } });
    assert.deepEqual(
      byTask.data!.catalog.nodes.map((node) => node.slug),
      ['quant-collective/risk-parity'],
    );
    const bySearch = await server.graphql(CATALOG, { filter: { search: 'RIDGE Regression' } });
    assert.deepEqual(
      bySearch.data!.catalog.nodes.map((node) => node.slug),
      ['demo/momentum-ridge'],
    );
    const byTags = await server.graphql(CATALOG, { filter: { tags: ['daily', 'trend'] } });
    assert.deepEqual(
      byTags.data!.catalog.nodes.map((node) => node.slug),
      ['quant-collective/carry-trend'],
    );
    const wildcard = await server.graphql(CATALOG, { filter: { search: '%' } });
    assert.equal(wildcard.data!.catalog.totalCount, 0, 'LIKE wildcards in a search are literal');
  });

  it('pages through every model exactly once with first/after, in each sort order', async () => {
    const sorts: CatalogSort[] = ['PUBLISHED_DESC', 'CREATED_DESC', 'NAME_ASC'];
    for (const sort of sorts) {
      const seen: string[] = [];
      let after: string | null = null;
      let total = 0;
      for (let page = 0; page < 10; page++) {
        const response: GraphQLResponse<TestCatalogQuery> = await server.graphql(CATALOG, { sort, first: 7, after });
        assert.equal(response.errors, undefined, JSON.stringify(response.errors));
        total = response.data!.catalog.totalCount;
        seen.push(...response.data!.catalog.nodes.map((node) => node.id));
        if (!response.data!.catalog.pageInfo.hasNextPage) break;
        after = response.data!.catalog.pageInfo.endCursor;
      }
      assert.equal(total, 51, `${sort}: total`);
      assert.equal(seen.length, 51, `${sort}: rows seen`);
      assert.equal(new Set(seen).size, 51, `${sort}: no row twice`);
    }
  });

  it('loads the vendors of a whole page in one query (no N+1)', async () => {
    const before = server.database.queryCount();
    const response = await server.graphql(CATALOG, { first: 50 });
    const used = server.database.queryCount() - before;
    assert.equal(response.data!.catalog.nodes.length, 50);
    assert.ok(used <= 3, `expected at most 3 queries (count, page, vendors), ran ${used}`);
  });

  it('refuses first over 100 and garbage cursors with BAD_USER_INPUT naming the argument', async () => {
    const tooMany = await server.graphql(CATALOG, { first: 100000 });
    assert.equal(tooMany.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
    assert.deepEqual(
      (tooMany.errors?.[0].extensions?.fields as { field: string }[]).map((problem) => problem.field),
      ['first'],
    );
    const garbage = await server.graphql(CATALOG, { after: 'not-a-cursor' });
    assert.equal(garbage.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
    assert.match(garbage.errors?.[0].message ?? '', /after/);
  });

  it('refuses a search over 200 characters with BAD_USER_INPUT naming filter.search', async () => {
    const long = await server.graphql(CATALOG, { filter: { search: 'momentum '.repeat(30) } });
    assert.equal(long.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
    assert.deepEqual(
      (long.errors?.[0].extensions?.fields as { field: string }[]).map((problem) => problem.field),
      ['filter.search'],
    );
    assert.match(long.errors?.[0].message ?? '', /at most 200 characters/);
  });

  it('refuses forged cursors of the right length but the wrong values as BAD_USER_INPUT, never INTERNAL', async () => {
    const forge = (values: unknown[]) => Buffer.from(JSON.stringify(values)).toString('base64url');
    for (const [sort, values] of [
      ['PUBLISHED_DESC', ['not a time', 'mdl_x']],
      ['CREATED_DESC', [null, 'mdl_x']],
      ['NAME_ASC', [1, 2]],
      ['NAME_ASC', ['a\u0000', 'mdl_x']],
    ] as const) {
      const forged = await server.graphql(CATALOG, { sort, after: forge([...values]) });
      assert.equal(forged.errors?.[0].extensions?.code, 'BAD_USER_INPUT', `${sort} ${JSON.stringify(values)}: ${JSON.stringify(forged.errors)}`);
      assert.deepEqual(
        (forged.errors?.[0].extensions?.fields as { field: string }[]).map((problem) => problem.field),
        ['after'],
      );
    }
  });

  it('shows one model by slug or id, and NOT_FOUND for an unknown slug or a draft', async () => {
    const show = TestCatalogModelDocument;
    const bySlug = await server.graphql(show, { slug: 'demo/momentum-ridge' });
    assert.equal(bySlug.data?.catalogModel.slug, 'demo/momentum-ridge');
    const byId = await server.graphql(show, { id: bySlug.data!.catalogModel.id });
    assert.equal(byId.data?.catalogModel.slug, 'demo/momentum-ridge');
    const unknown = await server.graphql(show, { slug: 'demo/nope' });
    assert.equal(unknown.errors?.[0].extensions?.code, 'NOT_FOUND');
    assert.match(unknown.errors?.[0].message ?? '', /demo\/nope/);
    const draft = await server.graphql(show, { slug: 'demo/next-gen' });
    assert.equal(draft.errors?.[0].extensions?.code, 'NOT_FOUND');
    const both = await server.graphql(show, { slug: 'demo/momentum-ridge', id: bySlug.data!.catalogModel.id });
    assert.equal(both.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
  });
});
