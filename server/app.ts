import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServerConfig } from './config';
import type { Database } from './db/database';
import type { Logger } from './logger';
import { buildContext, type ContextFactory, type Loaders, type Services } from './context';
import { buildSchema } from './schema';
import { createProtections } from './protections';
import { Metrics } from './metrics';
import { openStorage } from './storage';
import { ClusterSchedule, newWorkerId } from './jobs';
import { schedulePurge } from './idempotency';
import { scheduleRateLimitPurge } from './rate-limits';
import { serveSignedFile } from './http/files';
import { serveUpload } from './http/uploads';
import { createProviders } from './providers/registry';
import { modules, type ModuleRuntime, type Platform } from './modules';
import { DomainError } from './domain-error';
import { DatabaseKind } from '../generated/schema-types';
import { bearerToken, requestIdFrom } from './http/request-headers';
import { packageVersion } from './paths';
import { applyCors } from './http/cors';
import { GraphQLHttp, sendError } from './http/graphql-http';
import { holdThrottledAnswer } from './http/throttled-answer';
import { attachGraphQLWs } from './http/graphql-ws';
import { serveGraphiql, wantsGraphiql } from './http/graphiql';
import { serveIntrospection } from './http/introspect';
import { serveSignalStore } from './http/signal-store';
import { RequestLimits } from './http/request-limits';
import { SCHEMA_SDL_PATH, printedSchema, serveSchemaSdl } from './http/schema-sdl';
import { AUTH_SESSION_PATH, serveAuthSession } from './http/auth-session';
import { callerCredentials } from './http/caller-credentials';
import { serveWebConsole } from './http/web-console';
import { clearSessionCookie, servedOverHttps, sessionCookie } from './http/session-cookie';

export interface App {
  server: Server;
  services: Services;
  metrics: Metrics;
  /** Listen on config.host:config.port (0 = any free port); resolves with the base URL. */
  listen(): Promise<string>;
  /** Graceful stop: no new connections, in-flight requests finish, WebSockets close with 1001. */
  close(): Promise<void>;
}

export async function createApp(config: ServerConfig, database: Database, log: Logger): Promise<App> {
  const schema = buildSchema();
  const sdl = printedSchema(schema);
  const metrics = new Metrics(() => database.poolStats());
  const storage = await openStorage(config);
  let listenUrl = '';
  // Looked at twice a second: the deployments' health sweep runs every half second across the cluster.
  const schedule = new ClusterSchedule(database.dataSource, log, newWorkerId(), 500);
  schedulePurge(schedule, database.dataSource);
  scheduleRateLimitPurge(schedule, database.dataSource);
  const platform: Platform = {
    config,
    database,
    storage,
    providers: createProviders(config, log),
    log,
    schedule,
    publicBaseUrl: () => config.publicUrl ?? listenUrl,
  };
  // Filled in by the modules below, each adding its own services.
  const services = {
    server: { version: packageVersion(), database: database.kind === 'embedded' ? DatabaseKind.Embedded : DatabaseKind.Postgres },
  } as Services;
  const runtimes: ModuleRuntime[] = [];
  for (const module of modules) {
    const runtime = await module.create(platform, services);
    Object.assign(services, runtime.services);
    runtimes.push(runtime);
  }
  for (const runtime of runtimes) await runtime.start?.();

  const contexts: ContextFactory = {
    services,
    log,
    linksAt: (baseUrl) => storage.links.at(baseUrl),
    publicUrl: config.publicUrl,
    listenUrl: () => listenUrl,
    createLoaders: () => Object.assign({}, ...runtimes.map((runtime) => runtime.loaders?.() ?? {})) as Loaders,
  };
  const storedFile = async (blobKey: string) => {
    for (const runtime of runtimes) {
      const file = await runtime.storedFile?.(blobKey);
      if (file) return file;
    }
    return null;
  };
  const acceptsUpload = async (scope: string) => {
    for (const runtime of runtimes) if (await runtime.acceptsUpload?.(scope)) return true;
    return false;
  };

  const protections = createProtections(config);
  const requestLimits = new RequestLimits(database.dataSource, log, metrics, { perKeyPerMinute: config.rateLimitPerKeyPerMinute });
  const graphql = new GraphQLHttp({ schema, protections, introspection: config.introspection, bodyLimitBytes: config.bodyLimitBytes, metrics });
  await graphql.start();
  const stopClearingResponses = await graphql.responseCache.clearOn(
    database.notifications,
    runtimes.flatMap((runtime) => runtime.publicCacheChannels ?? []),
  );

  let draining = false;
  let inFlight = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = requestIdFrom(req.headers);
    res.setHeader('x-request-id', requestId);
    if (draining) {
      res.setHeader('connection', 'close');
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' }).end('server is shutting down\n');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    switch (url.pathname) {
      case '/healthz':
        return sendJson(res, 200, { status: 'ok' });
      case '/readyz':
        return sendJson(res, ...(await readiness(database, log)));
      case '/metrics':
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(await metrics.registry.metrics());
        return;
      case '/':
        if (await serveWebConsole(req, res)) return;
        res.setHeader('allow', 'GET, HEAD');
        return sendError(res, 405, `method ${req.method} is not allowed on /: the web console is a page (GET), the API is at /graphql`);
      case '/graphql':
        if (applyCors(req, res, config.corsOrigins)) return;
        if (wantsGraphiql(req)) {
          await serveGraphiql(req, res);
          return;
        }
        return handleGraphQL(req, res, url, requestId);
      case SCHEMA_SDL_PATH:
        if (applyCors(req, res, config.corsOrigins)) return;
        return serveSchemaSdl(req, res, sdl, config.introspection);
      case '/oauth/introspect':
        return serveIntrospection(req, res, services);
      case AUTH_SESSION_PATH:
        return serveAuthSession(req, res, { services, corsOrigins: config.corsOrigins, publicUrl: config.publicUrl });
      case '/api/signals/store':
        return serveSignalStore(req, res, { services, requestLimits, requestId });
      default: {
        const uploads = {
          links: storage.links,
          blobs: storage.blobs,
          acceptsUpload,
          log: (error: unknown) => log.warn({ err: error }, 'artifact upload failed'),
        };
        if (await serveUpload(req, res, uploads)) return;
        if (await serveSignedFile(req, res, { links: storage.links, blobs: storage.blobs, lookup: storedFile })) return;
        if (await serveGraphiql(req, res)) return;
        if (await serveWebConsole(req, res)) return;
        sendJson(res, 404, { error: `no route ${url.pathname}: the API is at /graphql` });
      }
    }
  };

  const handleGraphQL = async (req: IncomingMessage, res: ServerResponse, url: URL, requestId: string): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'POST') {
      res.setHeader('allow', 'GET, POST, OPTIONS');
      return sendError(res, 405, `method ${req.method} is not allowed on /graphql: use POST (or GET for queries)`);
    }
    // Authentication happens before Apollo so a bad key gets a plain 401 with the reason.
    let principal = null;
    let deployment = null;
    const bearer = bearerToken(req.headers.authorization);
    // The browser's session cookie counts only without a bearer key; Apollo's CSRF prevention still applies to it.
    const token = bearer ?? sessionCookie(req.headers.cookie);
    if (token) {
      try {
        if (!bearer) principal = await services.sessions.authenticate(token);
        else if (services.deploymentTokens.owns(token)) deployment = await services.deploymentTokens.authenticate(token, req.socket.remoteAddress);
        else principal = await services.keys.authenticate(token, req.socket.remoteAddress);
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        // An ended browser session is an ordinary GraphQL error (200): a page's console shows no failed request for it.
        const status = error.code === 'RATE_LIMITED' ? 429 : bearer ? 401 : 200;
        metrics.requests.inc({ operation: 'unknown', type: 'unknown', outcome: 'error' });
        metrics.errors.inc({ operation: 'unknown', code: error.code });
        log.info({ requestId, status, errors: [error.code] }, 'graphql');
        if (!bearer) clearSessionCookie(res, servedOverHttps(req, config.publicUrl));
        if (status === 429) {
          await holdThrottledAnswer(error);
          res.setHeader('retry-after', String(error.details.retryAfter ?? 1));
        }
        return sendError(res, status, error.message, error.code, { ...error.details });
      }
    }
    if (!(await requestLimits.admit(res, { requestId, principal, deployment }))) return;
    await graphql.handle(
      req,
      res,
      url,
      buildContext(contexts, { requestId, principal, deployment, headers: req.headers, idempotencyKey: req.headers['idempotency-key'] }),
    );
  };

  const server = createServer({ requestTimeout: 60_000, headersTimeout: 30_000, keepAliveTimeout: 5_000 }, (req, res) => {
    inFlight += 1;
    res.on('close', () => {
      inFlight -= 1;
    });
    handle(req, res).catch((error: unknown) => {
      const path = (req.url ?? '').split('?')[0];
      if (clientWentAway(req, error)) {
        log.debug({ path, reason: (error as NodeJS.ErrnoException).code ?? 'aborted' }, 'the client went away before the answer');
        res.destroy();
        return;
      }
      log.error({ err: error, path }, 'unhandled error in the HTTP handler');
      if (!res.headersSent) sendError(res, 500, 'internal server error', 'INTERNAL');
      else res.destroy();
    });
  });
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });

  const ws = attachGraphQLWs({
    server,
    schema,
    contexts,
    credentials: callerCredentials(services),
    protections,
    metrics,
    log,
    corsOrigins: config.corsOrigins,
    maxPayloadBytes: config.bodyLimitBytes,
    limits: config.websocket,
  });

  return {
    server,
    services,
    metrics,
    listen() {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          listenUrl = `http://${host}:${address.port}`;
          Promise.all(runtimes.map((runtime) => runtime.startWorkers?.())).then(() => {
            schedule.start();
            resolve(listenUrl);
          }, reject);
        });
      });
    },
    async close() {
      draining = true;
      await schedule.stop();
      for (const runtime of [...runtimes].reverse()) await runtime.stopWorkers?.();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await ws.dispose();
      const deadline = Date.now() + config.shutdownTimeoutMs;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      server.closeAllConnections();
      await closed;
      await graphql.stop();
      await stopClearingResponses();
      for (const runtime of [...runtimes].reverse()) await runtime.stop?.();
    },
  };
}

async function readiness(database: Database, log: Logger): Promise<[number, Record<string, unknown>]> {
  try {
    await database.dataSource.query('SELECT 1');
    const pending = await database.pendingMigrations();
    if (pending.length > 0) return [503, { status: 'not ready', reason: 'pending migrations', pending, fix: 'run `mp-server migrate`' }];
    return [200, { status: 'ready', database: database.kind }];
  } catch (error) {
    log.warn({ err: error }, 'readiness check: database unreachable');
    return [503, { status: 'not ready', reason: 'database unreachable (see the server log)' }];
  }
}

/** A request the client abandoned (closed or reset mid-body): nothing to answer, nothing to report. */
function clientWentAway(req: IncomingMessage, error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return req.destroyed || code === 'ECONNRESET' || code === 'ECONNABORTED' || code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE';
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}
