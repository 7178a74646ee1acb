import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApolloServer, HeaderMap, type ApolloServerPlugin, type HTTPGraphQLRequest } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { GraphQLSchema } from 'graphql';
import type { GraphQLContext } from '../context';
import type { Protections } from '../protections';
import type { Metrics } from '../metrics';
import { fillRequestIds, formatErrorFor, logUnexpectedErrors } from '../graphql-errors';
import { BodyTooLargeError, readBody } from './body';
import { ResponseCache, type CachedResponse } from './response-cache';
import { requestLogLevel } from './request-log-level';

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
  /** Answers to anonymous catalog-style queries; app.ts clears it when the data changes. */
  readonly responseCache: ResponseCache;
  /**
   * Requests whose answer Apollo found cacheable, and for how many seconds. Keyed by the
   * request object we hand to Apollo: it reaches plugins as `request.http`, while the context
   * object is a copy.
   */
  private readonly cacheable = new WeakMap<HTTPGraphQLRequest, number>();

  constructor(private readonly options: GraphQLHttpOptions) {
    this.responseCache = new ResponseCache(options.schema);
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
      plugins: [
        ...options.protections.apolloPlugins,
        ApolloServerPluginLandingPageDisabled(),
        ApolloServerPluginCacheControlDisabled(),
        observe(options.metrics),
        markCacheable(this.responseCache, this.cacheable),
      ],
    });
  }

  start(): Promise<void> {
    return this.apollo.start();
  }

  stop(): Promise<void> {
    return this.apollo.stop();
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL, context: GraphQLContext): Promise<void> {
    const started = process.hrtime.bigint();
    const generation = this.responseCache.generation;
    let body: unknown;
    let cacheKey: string | undefined;
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
      if (context.principal === null) {
        cacheKey = this.responseCache.keyOf(req, text);
        const hit = cacheKey === undefined ? undefined : this.responseCache.get(cacheKey);
        if (hit) return sendCached(res, hit, context, this.options.metrics, started);
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
    const httpGraphQLRequest: HTTPGraphQLRequest = { method: req.method ?? 'GET', headers, search: url.search, body };
    const response = await this.apollo.executeHTTPGraphQLRequest({ httpGraphQLRequest, context: async () => context });
    for (const [name, value] of response.headers) res.setHeader(name, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      const maxAge = cacheKey === undefined ? undefined : this.cacheable.get(httpGraphQLRequest);
      if (cacheKey !== undefined && maxAge !== undefined && res.statusCode === 200) {
        const operationName =
          typeof body === 'object' && body !== null && 'operationName' in body && typeof body.operationName === 'string' ? body.operationName : null;
        this.responseCache.set(cacheKey, { status: 200, headers: [...response.headers], body: response.body.string, operationName }, maxAge, generation);
        this.options.metrics.responseCache.inc({ result: 'miss' });
      }
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  }
}

/** A GraphQL-shaped error for requests refused before Apollo sees them. */
export function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  code = status === 401 ? 'UNAUTHENTICATED' : 'BAD_USER_INPUT',
  details: Record<string, unknown> = {},
): void {
  if (status === 401) res.setHeader('www-authenticate', 'Bearer realm="marketplace"');
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code, ...details } }] }));
}

/** A cached answer, counted and logged like any other operation. */
function sendCached(res: ServerResponse, hit: CachedResponse, context: GraphQLContext, metrics: Metrics, started: bigint): void {
  for (const [name, value] of hit.headers) res.setHeader(name, value);
  res.statusCode = hit.status;
  res.end(hit.body);
  metrics.responseCache.inc({ result: 'hit' });
  record(metrics, context, { operationName: hit.operationName, type: 'query', codes: [], status: hit.status, started, cached: true });
}

interface OperationOutcome {
  operationName: string | null;
  type: string;
  codes: string[];
  status: number;
  started: bigint;
  cached?: boolean;
}

function record(metrics: Metrics, context: GraphQLContext, outcome: OperationOutcome): void {
  const seconds = Number(process.hrtime.bigint() - outcome.started) / 1e9;
  const label = metrics.operationLabel(outcome.operationName);
  metrics.requests.inc({ operation: label, type: outcome.type, outcome: outcome.codes.length ? 'error' : 'ok' });
  metrics.durations.observe({ operation: label }, seconds);
  for (const code of outcome.codes) metrics.errors.inc({ operation: label, code });
  const durationMs = Math.round(seconds * 10000) / 10;
  context.log[requestLogLevel({ errorCount: outcome.codes.length, durationMs })](
    {
      requestId: context.requestId,
      operation: outcome.operationName,
      durationMs,
      status: outcome.status,
      errors: outcome.codes.length ? outcome.codes : undefined,
      cached: outcome.cached,
    },
    'graphql',
  );
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
          const errors = response.body.kind === 'single' ? (response.body.singleResult.errors ?? []) : [];
          const codes = errors.map((error) => String(error.extensions?.code ?? 'INTERNAL'));
          record(metrics, contextValue, {
            operationName: operationName ?? null,
            type: operation?.operation ?? 'unknown',
            codes,
            status: response.http.status ?? 200,
            started,
          });
        },
      };
    },
  };
}

/** Notes, for anonymous requests answered without errors, how long their answer may be cached. */
function markCacheable(cache: ResponseCache, cacheable: WeakMap<HTTPGraphQLRequest, number>): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart({ contextValue, request }) {
      if (contextValue.principal !== null || !request.http) return;
      const http = request.http;
      return {
        async willSendResponse({ response, operation }) {
          if (!operation || response.body.kind !== 'single' || response.body.singleResult.errors) return;
          if ((response.http.status ?? 200) !== 200) return;
          const maxAge = cache.maxAgeOf(operation);
          if (maxAge !== undefined) cacheable.set(http, maxAge);
        },
      };
    },
  };
}
