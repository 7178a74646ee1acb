import WebSocket from 'ws';
import type { ExecutionResult } from 'graphql';

/**
 * A graphql-ws socket (pass as the WebSocketServer's `WebSocket` class) that writes a
 * subscription's `next` message itself (see sharedSubscribe's directSend), with the result's
 * JSON serialized once for every subscriber of the same event instead of once each.
 */
export class GraphQLWsSocket extends WebSocket {
  private static readonly json = new WeakMap<ExecutionResult, string>();

  /**
   * Sends a `next` message for subscription `id` carrying `result` (which has no errors).
   * Resolves true once it is written, false when the socket is not open (nothing sent).
   */
  sendResult(id: string, result: ExecutionResult): Promise<boolean> {
    if (this.readyState !== WebSocket.OPEN) return Promise.resolve(false);
    let json = GraphQLWsSocket.json.get(result);
    if (json === undefined) {
      json = JSON.stringify(result);
      GraphQLWsSocket.json.set(result, json);
    }
    const message = `{"id":${JSON.stringify(id)},"type":"next","payload":${json}}`;
    // A failed write means the connection is going away: graphql-ws ends the subscription on close.
    return new Promise((resolve) => this.send(message, () => resolve(true)));
  }
}
