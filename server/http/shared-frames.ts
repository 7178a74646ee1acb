import WebSocket from 'ws';
import type { ExecutionResult, FormattedExecutionResult } from 'graphql';

type SendCallback = (error?: Error) => void;
type SendOptions = { mask?: boolean; binary?: boolean; compress?: boolean; fin?: boolean };

/**
 * What onNext hands graphql-ws once it has sent the `next` message itself: graphql-ws still
 * stringifies and sends its own message, which the socket recognises by this payload and
 * drops. Never a real payload: an executed result always has data or errors.
 */
export const ALREADY_SENT: FormattedExecutionResult = Object.freeze({ extensions: Object.freeze({ __mp_already_sent__: true }) });
const ALREADY_SENT_TAIL = `,"payload":${JSON.stringify(ALREADY_SENT)}}`;

/**
 * A graphql-ws socket (pass as the WebSocketServer's `WebSocket` class) that sends a shared
 * result's JSON, serialized once for every subscriber of the same event, instead of
 * graphql-ws serializing it again for each of them.
 */
export class GraphQLWsSocket extends WebSocket {
  private static readonly json = new WeakMap<ExecutionResult, string>();
  /** The last `next` message sent by sendResult, written (or failed) when this settles. */
  private written: Promise<Error | undefined> = Promise.resolve(undefined);

  /** Sends a `next` message for subscription `id` carrying `result` (which has no errors). */
  sendResult(id: string, result: ExecutionResult): void {
    let json = GraphQLWsSocket.json.get(result);
    if (json === undefined) {
      json = JSON.stringify(result);
      GraphQLWsSocket.json.set(result, json);
    }
    const message = `{"id":${JSON.stringify(id)},"type":"next","payload":${json}}`;
    this.written = new Promise((resolve) => super.send(message, resolve));
  }

  override send(data: WebSocket.Data, cb?: SendCallback): void;
  override send(data: WebSocket.Data, options: SendOptions, cb?: SendCallback): void;
  override send(data: WebSocket.Data, optionsOrCallback?: SendOptions | SendCallback, cb?: SendCallback): void {
    const callback = typeof optionsOrCallback === 'function' ? optionsOrCallback : cb;
    if (typeof data === 'string' && data.endsWith(ALREADY_SENT_TAIL)) {
      // graphql-ws waits for the message it thinks it sent: it waits for the one sent in its place.
      void this.written.then((error) => callback?.(error));
      return;
    }
    if (typeof optionsOrCallback === 'object') super.send(data, optionsOrCallback, callback);
    else super.send(data, callback);
  }
}
