import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestServer, type TestServer } from '../helpers/server';

/** Sends the head of a POST and part of its body, then resets the connection. */
async function abandonMidBody(server: TestServer, path: string): Promise<void> {
  const { hostname, port } = new URL(server.url);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(`POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"query":"{ serverInfo`);
  await sleep(100);
  socket.resetAndDestroy();
}

describe('HTTP clients that go away', function () {
  let server: TestServer;

  before(async function () {
    server = await startTestServer({}, { captureLogs: true });
  });

  after(async function () {
    await server?.close();
  });

  it('logs a client that resets mid-body at debug, never as an ERROR with a stack, and keeps serving', async function () {
    const before = server.logLines.length;
    await abandonMidBody(server, '/graphql');
    await abandonMidBody(server, '/graphql');
    await sleep(300);
    const lines = server.logLines.slice(before);
    const errors = lines.filter((line) => Number(line.level) >= 50);
    assert.deepEqual(errors, [], 'error lines were logged');
    assert.ok(!JSON.stringify(lines).includes('"stack"'), 'a stack was logged');
    const gone = lines.filter((line) => line.msg === 'the client went away before the answer');
    assert.equal(gone.length, 2, JSON.stringify(lines));
    assert.equal(gone[0].level, 20, 'at debug');

    const health = await fetch(`${server.url}/readyz`);
    assert.equal(health.status, 200);
  });
});
