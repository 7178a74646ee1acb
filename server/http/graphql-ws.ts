import type { Server as HttpServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { GraphQLError, parse, specifiedRules, validate, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import { WebSocketServer, type WebSocket } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { buildContext, type ContextFactory, type GraphQLContext } from '../context';
import type { Protections } from '../protections';
import type { Metrics } from '../metrics';
import type { Logger } from '../logger';
import type { Principal } from '../modules/identity/principal';
import type { WebSocketLimits } from '../config';
import { DomainError } from '../domain-error';
import { toGraphQLError } from '../errors';
import { refuseUnusableVariables } from '../unusable-strings';
import { formatErrorFor } from '../graphql-errors';
import { bearerToken } from './request-headers';
import { sessionCookie } from './session-cookie';
import { originAllowedForUpgrade } from './cors';
import { SocketCredentials, UNAUTHORIZED_CLOSE, type Credentials } from './socket-credentials';
import { SocketLimits, TOO_MANY_CLOSE } from './socket-limits';
import { holdThrottledAnswer } from './throttled-answer';
import { sharedSubscribe, type DirectSend } from '../live/shared-subscribe';
import { GraphQLWsSocket } from '../live/shared-frames';

export interface GraphQLWsOptions {
  server: HttpServer;
  schema: GraphQLSchema;
  contexts: ContextFactory;
  /** API keys and session tokens: the principal of one (a DomainError for a refused one), and the revocations heard. */
  credentials: Credentials<unknown>;
  protections: Protections;
  metrics: Metrics;
  log: Logger;
  corsOrigins: string[];
  maxPayloadBytes: number;
  limits: WebSocketLimits;
}

/** What a connection remembers from connection_init. */
interface ConnectionState extends Record<PropertyKey, unknown> {
  connectionId: string;
  token: string | undefined;
  principal: Principal | null;
}

/** graphql-ws's record of a socket's subscriptions: an id maps to null while it is being set up. */
type SubscriptionsOf = Record<string, unknown>;

/**
 * graphql-ws on the same path as HTTP (/graphql), with the same authentication
 * (`connectionParams.authorization`), limits (the armor rules, the token limit) and
 * error masking. Returns a function that closes every socket with 1001 (going away).
 */
export function attachGraphQLWs(options: GraphQLWsOptions): { dispose(): Promise<void>; sockets: WebSocketServer } {
  const sockets = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes, WebSocket: GraphQLWsSocket });
  const format = formatErrorFor(options.protections.maskSuggestions);
  const rules = [...specifiedRules, ...options.protections.validationRules];

  options.server.on('upgrade', (req, socket, head) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/graphql') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    if (!originAllowedForUpgrade(req, options.corsOrigins)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    const address = req.socket.remoteAddress;
    if (!limits.admitsUpgradeFrom(address)) {
      const message = `too many WebSockets from this address have not sent connection_init yet (the limit is ${options.limits.maxAnonymousSocketsPerAddress}): retry shortly\n`;
      socket.end(`HTTP/1.1 429 Too Many Requests\r\nRetry-After: 10\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${message}`);
      return;
    }
    sockets.handleUpgrade(req, socket, head, (ws) => {
      limits.opened(ws, address, () => Object.keys(subscriptionsOf.get(ws) ?? {}).length);
      ws.once('close', () => limits.closed(ws));
      sockets.emit('connection', ws, req);
    });
  });

  const limits = new SocketLimits(options.limits);
  const subscriptionsOf = new WeakMap<WebSocket, SubscriptionsOf>();
  const authenticate = async (token: string | undefined, address?: string): Promise<Principal | null> =>
    token ? options.credentials.authenticate(token, address) : null;
  // Sockets whose key is revoked, suspended or expired are closed while open, not only refused at the next operation.
  const open = new SocketCredentials(options.credentials, options.log);

  // Subscriptions with the same document, variables and caller share each event's result,
  // and a result without errors is written to its socket directly (see shared-subscribe.ts).
  const operations = new WeakMap<ExecutionArgs, { shareKey: string; send?: DirectSend }>();

  const disposable = useServer<Record<string, unknown> | undefined, ConnectionState>(
    {
      schema: options.schema,
      subscribe: sharedSubscribe({
        shareKey: (args) => operations.get(args)?.shareKey,
        directSend: (args) => operations.get(args)?.send,
      }),
      connectionInitWaitTimeout: 5_000,
      onConnect: async (ctx) => {
        ctx.extra.connectionId = randomUUID();
        // A browser's socket carries its session cookie (the upgrade's Origin was checked against the allowlist).
        ctx.extra.token =
          bearerToken(ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization) ?? sessionCookie(ctx.extra.request.headers.cookie);
        subscriptionsOf.set(ctx.extra.socket, ctx.subscriptions);
        try {
          ctx.extra.principal = await authenticate(ctx.extra.token, ctx.extra.request.socket.remoteAddress);
        } catch (error) {
          const reason = error instanceof DomainError ? error.message : 'authentication failed';
          const code = error instanceof DomainError && error.code === 'RATE_LIMITED' ? TOO_MANY_CLOSE : UNAUTHORIZED_CLOSE;
          await holdThrottledAnswer(error);
          ctx.extra.socket.close(code, closeReason(reason));
          return false;
        }
        // Closed while its key was being checked: graphql-ws has already run onClose, so nothing may be kept for it.
        if (ctx.extra.socket.readyState !== ctx.extra.socket.OPEN) return false;
        const principal = ctx.extra.principal;
        if (!limits.initialised(ctx.extra.socket, principal?.apiKeyId ?? null)) {
          const reason = principal
            ? `too many open WebSockets for this API key (the limit is ${options.limits.maxSocketsPerKey})`
            : `too many open WebSockets without an API key from this address (the limit is ${options.limits.maxAnonymousSocketsPerAddress})`;
          ctx.extra.socket.close(TOO_MANY_CLOSE, closeReason(reason));
          return false;
        }
        if (ctx.extra.token && principal) open.add(ctx.extra.socket, ctx.extra.token, principal);
        options.metrics.websocketConnections.inc();
        return true;
      },
      onDisconnect: () => {
        options.metrics.websocketConnections.dec();
      },
      onClose: (ctx) => {
        open.remove(ctx.extra.socket);
      },
      onSubscribe: async (ctx, id, payload) => {
        const scope = { requestId: `${ctx.extra.connectionId}:${id}`, log: options.log };
        const fail = (errors: readonly GraphQLError[]) =>
          errors.map((error) => {
            const formatted = format(error.toJSON(), error.originalError ?? error, scope);
            return new GraphQLError(formatted.message, {
              extensions: formatted.extensions,
              nodes: error.nodes,
              source: error.source,
              positions: error.positions,
            });
          });
        // graphql-ws has already recorded this id (as null while it is set up).
        const subscriptions = Object.values(ctx.subscriptions);
        if (subscriptions.length > options.limits.maxSubscriptionsPerSocket) {
          return fail([
            tooMany(
              `this socket already has ${options.limits.maxSubscriptionsPerSocket} subscriptions (the limit per socket): complete one, or open another socket`,
            ),
          ]);
        }
        if (subscriptions.filter((subscription) => subscription === null).length > options.limits.maxPendingSubscribes) {
          return fail([
            tooMany(`more than ${options.limits.maxPendingSubscribes} subscriptions on this socket are still starting: wait for them before sending more`),
          ]);
        }
        limits.busy(ctx.extra.socket);
        // Re-check the key on every operation (a cache hit): a revoked key stops new subscriptions at once.
        let principal: Principal | null;
        try {
          principal = await authenticate(ctx.extra.token);
        } catch (error) {
          return fail([error instanceof DomainError ? toGraphQLError(error) : new GraphQLError('authentication failed', { originalError: error as Error })]);
        }
        let document;
        try {
          document = parse(payload.query, { maxTokens: options.protections.maxTokens });
        } catch (error) {
          return fail([error as GraphQLError]);
        }
        const errors = validate(options.schema, document, rules);
        if (errors.length > 0) return fail(errors);
        const unusable = refuseUnusableVariables(payload.variables);
        if (unusable) return fail([toGraphQLError(unusable)]);
        const contextValue = buildContext(options.contexts, {
          requestId: scope.requestId,
          principal,
          headers: ctx.extra.request.headers,
          idempotencyKey: payload.extensions?.idempotencyKey,
        });
        const args: ExecutionArgs = {
          schema: options.schema,
          document,
          variableValues: payload.variables,
          operationName: payload.operationName,
          contextValue,
        };
        const caller = principal ? `${principal.role}:${principal.vendorId ?? ''}:${principal.apiKeyId}` : 'anonymous';
        const socket = ctx.extra.socket;
        operations.set(args, {
          shareKey: JSON.stringify([caller, payload.operationName ?? null, payload.variables ?? null, payload.query]),
          send: socket instanceof GraphQLWsSocket ? (result) => socket.sendResult(id, result) : undefined,
        });
        return args;
      },
      onOperation: () => {
        options.metrics.subscriptions.inc();
      },
      onComplete: (ctx) => {
        options.metrics.subscriptions.dec();
        limits.busy(ctx.extra.socket);
      },
      onNext: (_ctx, _id, _payload, args, result) => {
        if (!result.errors) return;
        const scope = { requestId: (args.contextValue as GraphQLContext).requestId, log: options.log };
        return { ...result, errors: result.errors.map((error) => format(error.toJSON(), error, scope)) };
      },
      onError: (ctx, id, _payload, errors) => {
        const scope = { requestId: `${ctx.extra.connectionId}:${id}`, log: options.log };
        return errors.map((error) => format(error.toJSON(), error, scope));
      },
    },
    sockets,
    options.limits.keepAliveMs,
  );

  return {
    sockets,
    async dispose() {
      open.close();
      limits.stop();
      for (const client of sockets.clients) client.close(1001, 'server shutting down');
      await disposable.dispose();
    },
  };
}

/** A close reason must fit in 123 bytes. */
function closeReason(text: string): string {
  return Buffer.from(text).subarray(0, 123).toString();
}

function tooMany(message: string): GraphQLError {
  return toGraphQLError(new DomainError('RATE_LIMITED', message, { retryAfter: 1 }));
}
