import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server';

describe('per-request log lines', function () {
  let server: TestServer;

  before(async function () {
    server = await startTestServer({}, { captureLogs: true });
  });

  after(async function () {
    await server?.close();
  });

  function requestLines(since: number): Record<string, unknown>[] {
    return server.logLines.slice(since).filter((line) => line.msg === 'graphql');
  }

  it('logs an operation that succeeded at debug only', async function () {
    const since = server.logLines.length;
    const result = await server.graphql('query QuickInfo { serverInfo { version } }');
    assert.equal(result.errors, undefined);
    const lines = requestLines(since);
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.equal(lines[0].level, 20);
    assert.equal(lines[0].operation, 'QuickInfo');
    assert.equal(lines[0].status, 200);
  });

  it('logs an operation that failed at info with its error codes', async function () {
    const since = server.logLines.length;
    const result = await server.graphql('query BadField { serverInfo { noSuchField } }');
    assert.ok(result.errors?.length, 'the query should fail validation');
    const lines = requestLines(since);
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.equal(lines[0].level, 30);
    assert.deepEqual(lines[0].errors, ['BAD_USER_INPUT']);
    assert.deepEqual(
      lines[0].errors,
      result.errors?.map((error) => error.extensions?.code),
    );
  });

  it('logs a request refused for a bad API key at info', async function () {
    const since = server.logLines.length;
    const result = await server.graphql('{ me { role } }', undefined, 'vk_not_a_real_key');
    assert.ok(result.errors?.length);
    const lines = requestLines(since);
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.equal(lines[0].level, 30);
    assert.deepEqual(lines[0].errors, ['UNAUTHENTICATED']);
  });
});
