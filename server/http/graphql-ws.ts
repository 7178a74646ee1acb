import type { Server as HttpServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { GraphQLError, parse, specifiedRules, validate, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { buildContext, type ContextFactory, type GraphQLContext } from '../context';
import type { Protections } from '../protections';
import type { Metrics } from '../metrics';
import type { Logger } from '../logger';
import type { Principal } from '../modules/identity/principal';
import { DomainError } from '../domain-error';
import { toGraphQLError } from '../errors';
import { refuseUnusableVariables } from '../unusable-strings';
import { formatErrorFor } from '../graphql-errors';
import { bearerToken } from './request-headers';
import { originAllowedForUpgrade } from './cors';
import { SocketCredentials, UNAUTHORIZED_CLOSE, type Credentials } from './socket-credentials';
import { sharedSubscribe, type DirectSend } from '../live/shared-subscribe';
import { GraphQLWsSocket } from '../live/shared-frames';

export interface GraphQLWsOptions {
  server: HttpServer;
  schema: GraphQLSchema;
  contexts: ContextFactory;
  /** API keys: the principal of one (a DomainError for a refused one), and the revocations heard. */
  credentials: Credentials<unknown>;
  protections: Protections;
  metrics: Metrics;
  log: Logger;
  corsOrigins: string[];
  maxPayloadBytes: number;
}

/** What a connection remembers from connection_init. */
interface ConnectionState extends Record<PropertyKey, unknown> {
  connectionId: string;
  token: string | undefined;
  principal: Principal | null;
}

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
    sockets.handleUpgrade(req, socket, head, (ws) => sockets.emit('connection', ws, req));
  });

  const authenticate = async (token: string | undefined): Promise<Principal | null> => (token ? options.credentials.authenticate(token) : null);
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
        ctx.extra.token = bearerToken(ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization);
        try {
          ctx.extra.principal = await authenticate(ctx.extra.token);
        } catch (error) {
          const reason = error instanceof DomainError ? error.message : 'authentication failed';
          ctx.extra.socket.close(UNAUTHORIZED_CLOSE, Buffer.from(reason).subarray(0, 123).toString());
          return false;
        }
        if (ctx.extra.token && ctx.extra.principal) open.add(ctx.extra.socket, ctx.extra.token, ctx.extra.principal);
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
      onComplete: () => {
        options.metrics.subscriptions.dec();
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
  );

  return {
    sockets,
    async dispose() {
      open.close();
      for (const client of sockets.clients) client.close(1001, 'server shutting down');
      await disposable.dispose();
    },
  };
}
