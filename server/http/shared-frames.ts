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
const MARKER = '"__mp_already_sent__"';

/** graphql-ws's `next` message carrying ALREADY_SENT, whatever the order of its keys. */
export function isAlreadySent(data: string): boolean {
  if (!data.includes(MARKER)) return false;
  try {
    const message = JSON.parse(data) as { type?: unknown; payload?: { extensions?: Record<string, unknown> } };
    return message.type === 'next' && message.payload?.extensions?.__mp_already_sent__ === true && Object.keys(message.payload).length === 1;
  } catch {
    return false;
  }
}

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
    if (typeof data === 'string' && isAlreadySent(data)) {
      // graphql-ws waits for the message it thinks it sent: it waits for the one sent in its place.
      void this.written.then((error) => callback?.(error));
      return;
    }
    if (typeof optionsOrCallback === 'object') super.send(data, optionsOrCallback, callback);
    else super.send(data, callback);
  }
}
