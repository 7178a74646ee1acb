// GraphQL subscriptions over graphql-ws (the `graphql-transport-ws` protocol) with the `ws`
// package (Node 20 has no global WebSocket). One call is one connection and one operation:
// graphql-ws's own reconnection re-sends the first variables, so callers that must resume
// from where they stopped (mp train logs -f) run their own loop around subscribeOnce().
// This module is only required lazily, by commands that follow something.
import type { TypedDocumentString } from '../generated/cli-operations';
import { unreachableReason, type GraphQLErrorPayload } from './errors';

export interface SubscriptionTarget {
  /** The HTTP endpoint (…/graphql); the WebSocket URL is derived from it. */
  apiUrl: string;
  apiKey?: string;
  /** Receives one line per connection event (used by --verbose). */
  log?: (line: string) => void;
}

/** How one subscription ended. */
export type SubscriptionEnd =
  /** The caller's onData returned 'stop' (it has what it waited for). */
  | { kind: 'stopped' }
  /** The server completed the operation. */
  | { kind: 'complete' }
  /** The server refused or failed the operation. */
  | { kind: 'errors'; errors: GraphQLErrorPayload[] }
  /** The socket closed (server restart, network drop, keep-alive timeout, refused key...). */
  | { kind: 'closed'; code: number; reason: string }
  /** No connection at all (refused, DNS, TLS, handshake timeout). */
  | { kind: 'failed'; message: string }
  /** The caller's signal aborted (Ctrl-C). */
  | { kind: 'cancelled' };

export interface SubscribeOptions<TResult> {
  /** Each result's data; return 'stop' to end the subscription (the socket is closed). */
  onData: (data: TResult) => 'continue' | 'stop';
  /** Called once the server acknowledged the connection. */
  onConnected?: () => void;
  signal?: AbortSignal;
  /** Milliseconds between keep-alive pings; a missing pong closes the socket (default 15 s). */
  keepAliveMs?: number;
  /** How long to wait for the pong, the WebSocket handshake and the connection ack (default 10 s). */
  timeoutMs?: number;
}

/** `http://host/graphql` → `ws://host/graphql`, `https:` → `wss:`. */
export function websocketUrl(apiUrl: string): string {
  const url = new URL(apiUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/** Close codes after which trying again cannot help: protocol errors, a refused key, a server bug. */
export function isFatalCloseCode(code: number): boolean {
  if ([1002, 1003, 1007, 1008, 1009, 1010, 1015].includes(code)) return true;
  // 4408 (init timeout), 4418 (ack timeout) and 4499 (terminated: our keep-alive gave up) may pass on a retry.
  if (code >= 4000 && code <= 4999) return ![4408, 4418, 4499].includes(code);
  return false;
}

function closeLike(value: unknown): { code: number; reason: string } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as { code?: unknown; reason?: unknown };
  if (typeof record.code !== 'number') return undefined;
  const reason = record.reason;
  return { code: record.code, reason: typeof reason === 'string' ? reason : Buffer.isBuffer(reason) ? reason.toString('utf8') : '' };
}

function errorMessage(value: unknown): string {
  if (typeof value === 'object' && value !== null) {
    const record = value as { message?: unknown; error?: unknown };
    if (record.error instanceof Error && record.error.message) return unreachableReason(record.error);
    if (value instanceof Error) return unreachableReason(value);
    if (typeof record.message === 'string' && record.message) return record.message;
  }
  return String(value);
}

/**
 * An open socket gets a close frame and a second to answer it; one still connecting (or a
 * stuck one) is terminated, so a finished command never waits on the network to exit.
 */
function closeSocket(socket: import('ws') | undefined): void {
  if (!socket || socket.readyState === socket.CLOSED) return;
  if (socket.readyState === socket.OPEN || socket.readyState === socket.CLOSING) {
    const timer = setTimeout(() => socket.terminate(), 1000);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    if (socket.readyState === socket.OPEN) socket.close(1000, 'Normal Closure');
    return;
  }
  socket.terminate();
}

/** Words for an end that is not a success, for warnings and errors. */
export function describeEnd(end: SubscriptionEnd): string {
  switch (end.kind) {
    case 'closed':
      return `connection closed (code ${end.code}${end.reason ? `: ${end.reason}` : ''})`;
    case 'failed':
      return end.message;
    case 'complete':
      return 'the server ended the stream early';
    case 'errors':
      return end.errors.map((error) => error.message).join('; ');
    case 'cancelled':
      return 'cancelled';
    case 'stopped':
      return 'stopped';
  }
}

/**
 * Runs one subscription on a fresh connection until it ends, and says how. Never rejects.
 * graphql-ws's retries are off (retryAttempts 0; a clean close is turned into an end too),
 * so every disconnect reaches the caller, which decides whether and how to resubscribe.
 */
export function subscribeOnce<TResult, TVariables>(
  target: SubscriptionTarget,
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
  options: SubscribeOptions<TResult>,
): Promise<SubscriptionEnd> {
  const { createClient } = require('graphql-ws/client') as typeof import('graphql-ws/client');
  const WebSocket = require('ws') as typeof import('ws');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const keepAliveMs = options.keepAliveMs ?? 15_000;

  return new Promise<SubscriptionEnd>((resolve) => {
    const url = websocketUrl(target.apiUrl);
    let settled = false;
    let socket: InstanceType<typeof WebSocket> | undefined;
    let pongTimer: NodeJS.Timeout | undefined;

    /** graphql-ws constructs the socket with (url, protocol) only; this adds a handshake timeout and keeps a handle on it. */
    class TimedWebSocket extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, { handshakeTimeout: timeoutMs });
        // eslint-disable-next-line @typescript-eslint/no-this-alias -- the socket graphql-ws makes is the one we must be able to close
        socket = this;
      }
    }

    const client = createClient({
      url,
      webSocketImpl: TimedWebSocket,
      connectionParams: target.apiKey ? { authorization: `Bearer ${target.apiKey}` } : {},
      lazy: true,
      retryAttempts: 0,
      keepAlive: keepAliveMs,
      connectionAckWaitTimeout: timeoutMs,
      on: {
        connecting: () => target.log?.(`WebSocket ${url} connecting`),
        connected: () => {
          target.log?.(`WebSocket ${url} connected`);
          options.onConnected?.();
        },
        ping: (received) => {
          if (received) return;
          clearTimeout(pongTimer);
          // No pong in time: the network is gone without a close frame. terminate() ends the
          // socket at once (close() would wait for the server's close frame).
          pongTimer = setTimeout(() => socket?.terminate(), timeoutMs);
        },
        pong: (received) => {
          if (received) clearTimeout(pongTimer);
        },
        closed: (event) => {
          const close = closeLike(event) ?? { code: 1006, reason: '' };
          target.log?.(`WebSocket closed with code ${close.code}${close.reason ? ` (${close.reason})` : ''}`);
          finish({ kind: 'closed', ...close });
        },
        error: (error) => {
          target.log?.(`WebSocket error: ${errorMessage(error)}`);
          finish({ kind: 'failed', message: errorMessage(error) });
        },
      },
    });

    const onAbort = () => finish({ kind: 'cancelled' });
    if (options.signal?.aborted) {
      resolve({ kind: 'cancelled' });
      return;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });

    let unsubscribe: () => void = () => undefined;
    function finish(end: SubscriptionEnd): void {
      if (settled) return;
      settled = true;
      clearTimeout(pongTimer);
      options.signal?.removeEventListener('abort', onAbort);
      unsubscribe();
      // Disposing stops graphql-ws from silently reconnecting after a clean close.
      Promise.resolve(client.dispose()).catch(() => undefined);
      closeSocket(socket);
      resolve(end);
    }

    unsubscribe = client.subscribe<TResult>(
      { query: document.toString(), variables: variables as Record<string, unknown> },
      {
        next: (result) => {
          if (settled) return;
          if (result.errors?.length && (result.data === null || result.data === undefined)) {
            finish({ kind: 'errors', errors: result.errors as GraphQLErrorPayload[] });
            return;
          }
          if (result.data !== null && result.data !== undefined && options.onData(result.data as TResult) === 'stop') {
            finish({ kind: 'stopped' });
          }
        },
        error: (error) => {
          if (Array.isArray(error)) finish({ kind: 'errors', errors: error as GraphQLErrorPayload[] });
          else {
            const close = closeLike(error);
            finish(close ? { kind: 'closed', ...close } : { kind: 'failed', message: errorMessage(error) });
          }
        },
        complete: () => finish({ kind: 'complete' }),
      },
    );
  });
}
