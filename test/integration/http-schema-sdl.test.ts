import assert from 'node:assert/strict';
import { buildClientSchema, buildSchema as buildSchemaFromSdl, getIntrospectionQuery, printSchema, type IntrospectionQuery } from 'graphql';
import { startTestServer, type TestServer } from '../helpers/server';
import { SCHEMA_SDL_PATH } from '../../server/http/schema-sdl';

describe('GET /graphql/schema.graphql', function () {
  let server: TestServer;
  let closed: TestServer;

  before(async function () {
    this.timeout(60_000);
    server = await startTestServer({ MP_CORS_ORIGINS: 'https://app.example' });
    closed = await startTestServer({ MP_INTROSPECTION: 'false' });
  });

  after(async function () {
    await server?.close();
    await closed?.close();
  });

  it('serves the merged SDL, the same schema introspection describes, descriptions included', async function () {
    const reply = await fetch(`${server.url}${SCHEMA_SDL_PATH}`);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.get('content-type'), 'text/plain; charset=utf-8');
    const sdl = await reply.text();
    const served = buildSchemaFromSdl(sdl);
    for (const name of ['Query', 'Mutation', 'Subscription', 'TrainingRun', 'CatalogModel', 'Vendor', 'DatasetRound', 'Deployment']) {
      assert.ok(served.getType(name), `the SDL declares ${name}`);
    }
    assert.match(sdl, /"""?The caller\. Requires an API key\."""?\n\s+me: Me!/);

    const introspection = await server.graphql<IntrospectionQuery>(
      getIntrospectionQuery({ descriptions: true, schemaDescription: true, specifiedByUrl: true }),
    );
    assert.equal(introspection.status, 200);
    const live = buildClientSchema(introspection.data as IntrospectionQuery);
    assert.equal(printSchema(served), printSchema(live));
  });

  it('is cacheable: Cache-Control, a strong ETag and 304 for If-None-Match; HEAD has no body', async function () {
    const first = await fetch(`${server.url}${SCHEMA_SDL_PATH}`);
    await first.text();
    assert.match(first.headers.get('cache-control') ?? '', /^public, max-age=\d+/);
    const etag = first.headers.get('etag');
    assert.match(etag ?? '', /^"[A-Za-z0-9_-]+"$/);
    const again = await fetch(`${server.url}${SCHEMA_SDL_PATH}`, { headers: { 'if-none-match': etag ?? '' } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), '');
    const changed = await fetch(`${server.url}${SCHEMA_SDL_PATH}`, { headers: { 'if-none-match': '"something-else"' } });
    assert.equal(changed.status, 200);
    assert.ok((await changed.text()).length > 1000);
    const head = await fetch(`${server.url}${SCHEMA_SDL_PATH}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    assert.ok(Number(head.headers.get('content-length')) > 1000);
  });

  it('lets an allowed origin read it, and refuses other methods with 405 and Allow', async function () {
    const cors = await fetch(`${server.url}${SCHEMA_SDL_PATH}`, { headers: { origin: 'https://app.example' } });
    await cors.text();
    assert.equal(cors.headers.get('access-control-allow-origin'), 'https://app.example');
    const post = await fetch(`${server.url}${SCHEMA_SDL_PATH}`, { method: 'POST', body: '{}' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    assert.match(await post.text(), /^POST is not allowed here: use GET\n$/);
  });

  it('is not published when introspection is off, and says why', async function () {
    const reply = await fetch(`${closed.url}${SCHEMA_SDL_PATH}`);
    assert.equal(reply.status, 404);
    assert.match(await reply.text(), /introspection is off \(MP_INTROSPECTION=false\)/);
  });
});
