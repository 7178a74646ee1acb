import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { MessageType, parseMessage } from 'graphql-ws';
import WebSocket, { WebSocketServer } from 'ws';
import { GraphQLWsSocket } from '../../server/live/shared-frames';

describe('shared frames: GraphQLWsSocket.sendResult over a real WebSocket', () => {
  let server: WebSocketServer;
  let url: string;

  beforeEach(async () => {
    server = new WebSocketServer({ port: 0, host: '127.0.0.1', WebSocket: GraphQLWsSocket });
    await once(server, 'listening');
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    for (const client of server.clients) client.terminate();
    await new Promise((resolve) => server.close(resolve));
  });

  /** A connected client and the server's side of it. */
  async function connect(): Promise<{ client: WebSocket; socket: GraphQLWsSocket; received: string[] }> {
    const accepted = once(server, 'connection') as Promise<[GraphQLWsSocket]>;
    const client = new WebSocket(url);
    const received: string[] = [];
    client.on('message', (data) => received.push(String(data)));
    await once(client, 'open');
    const [socket] = await accepted;
    return { client, socket, received };
  }

  async function until(condition: () => boolean): Promise<void> {
    for (let i = 0; i < 200 && !condition(); i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.ok(condition(), 'timed out waiting');
  }

  it('writes a graphql-ws next message with the result, the same result to every socket', async () => {
    const a = await connect();
    const b = await connect();
    const result = { data: { trainingLogs: { lines: [{ seq: 1, line: 'epoch 1 "quoted" \u2713' }], finalStatus: null } } };
    assert.equal(await a.socket.sendResult('sub-1', result), true);
    assert.equal(await b.socket.sendResult('0b7c-\u00e9"', result), true);
    await until(() => a.received.length === 1 && b.received.length === 1);
    assert.deepEqual(parseMessage(a.received[0]), { id: 'sub-1', type: MessageType.Next, payload: result });
    assert.deepEqual(parseMessage(b.received[0]), { id: '0b7c-\u00e9"', type: MessageType.Next, payload: result });
  });

  it('resolves false and sends nothing once the socket is closing', async () => {
    const { socket, received, client } = await connect();
    socket.close(1000);
    assert.equal(await socket.sendResult('sub-1', { data: { n: 1 } }), false);
    await once(client, 'close');
    assert.deepEqual(received, []);
  });
});
