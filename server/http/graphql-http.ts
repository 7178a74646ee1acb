import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApolloServer, HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { GraphQLSchema } from 'graphql';
import type { GraphQLContext } from '../context';
import type { Protections } from '../protections';
import type { Metrics } from '../metrics';
import { fillRequestIds, formatErrorFor, logUnexpectedErrors } from '../graphql-errors';
import { BodyTooLargeError, readBody } from './body';

export interface GraphQLHttpOptions {
  schema: GraphQLSchema;
  protections: Protections;
  introspection: boolean;
  bodyLimitBytes: number;
  metrics: Metrics;
}

/** Apollo Server 5 behind our own node:http routing: POST and GET on /graphql, no batching, CSRF prevention on. */
export class GraphQLHttp {
  readonly apollo: ApolloServer<GraphQLContext>;

  constructor(private readonly options: GraphQLHttpOptions) {
    this.apollo = new ApolloServer<GraphQLContext>({
      schema: options.schema,
      csrfPrevention: true,
      // main.ts owns SIGTERM: Apollo's own handler would stop it mid-shutdown and re-raise the signal.
      stopOnTerminationSignals: false,
      allowBatchedHttpRequests: false,
      includeStacktraceInErrorResponses: false,
      introspection: options.introspection,
      hideSchemaDetailsFromClientErrors: options.protections.maskSuggestions,
      validationRules: options.protections.validationRules,
      parseOptions: { maxTokens: options.protections.maxTokens },
      formatError: formatErrorFor(options.protections.maskSuggestions),
      // No cache-control hints are used; Apollo's default cache-control plugin would wrap every field resolver.
      plugins: [...options.protections.apolloPlugins, ApolloServerPluginLandingPageDisabled(), ApolloServerPluginCacheControlDisabled(), observe(options.metrics)],
    });
  }

  start(): Promise<void> {
    return this.apollo.start();
  }

  stop(): Promise<void> {
    return this.apollo.stop();
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL, context: GraphQLContext): Promise<void> {
    let body: unknown;
    if (req.method === 'POST') {
      let text: string;
      try {
        text = await readBody(req, this.options.bodyLimitBytes);
      } catch (error) {
        if (error instanceof BodyTooLargeError) {
          res.setHeader('connection', 'close');
          return sendError(res, 413, error.message);
        }
        throw error;
      }
      const contentType = req.headers['content-type'] ?? '';
      if (contentType.includes('json')) {
        try {
          body = text.length > 0 ? JSON.parse(text) : undefined;
        } catch (error) {
          return sendError(res, 400, `malformed JSON body: ${(error as Error).message}`);
        }
      } else {
        body = text;
      }
    }

    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const response = await this.apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
      context: async () => context,
    });
    for (const [name, value] of response.headers) res.setHeader(name, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  }
}

/** A GraphQL-shaped error for requests refused before Apollo sees them. */
export function sendError(res: ServerResponse, status: number, message: string, code = status === 401 ? 'UNAUTHENTICATED' : 'BAD_USER_INPUT'): void {
  if (status === 401) res.setHeader('www-authenticate', 'Bearer realm="marketplace"');
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}

/** One log line and the metrics for each operation; unexpected errors logged with the request id. */
function observe(metrics: Metrics): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart({ contextValue }) {
      const started = process.hrtime.bigint();
      return {
        async didEncounterErrors({ errors }) {
          logUnexpectedErrors(contextValue, errors);
        },
        async willSendResponse({ response, operationName, operation }) {
          if (response.body.kind === 'single' && response.body.singleResult.errors) {
            response.body.singleResult.errors = fillRequestIds(response.body.singleResult.errors, contextValue.requestId);
          }
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          const label = metrics.operationLabel(operationName);
          const errors = response.body.kind === 'single' ? (response.body.singleResult.errors ?? []) : [];
          const codes = errors.map((error) => String(error.extensions?.code ?? 'INTERNAL'));
          metrics.requests.inc({ operation: label, type: operation?.operation ?? 'unknown', outcome: codes.length ? 'error' : 'ok' });
          metrics.durations.observe({ operation: label }, seconds);
          for (const code of codes) metrics.errors.inc({ operation: label, code });
          contextValue.log.info(
            { requestId: contextValue.requestId, operation: operationName ?? null, durationMs: Math.round(seconds * 10000) / 10, status: response.http.status ?? 200, errors: codes.length ? codes : undefined },
            'graphql',
          );
        },
      };
    },
  };
}
