/**
 * The endpoint's HTTP server (node:http, no framework):
 *
 *   GET  /health      EndpointHealth {status, modelVersion}: 200 when READY, else 503
 *   POST /v1/signal   SignalInferenceRequest -> SignalInferenceResponse          (body up to 1 MB)
 *   POST /v1/signals  SignalInferenceBatchRequest (1 to 500) -> SignalInferenceBatchResponse,
 *                     answers in the order of the requests                        (body up to 8 MB)
 *
 * Every answer is JSON. Errors are `{"error": {"code", "message", "fields"?}}`: 400 bad JSON or a
 * field that breaks the contract (each one listed with its path), 404 unknown path, 405 wrong
 * method, 413 body too large, 415 not JSON, 503 not ready or at capacity, 500 the model failed.
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { SignalWrite } from '../contract.generated';
import { answerClientError } from './client-error';
import { callerRequestId } from './request-checks';
import { errorBody, sendJson } from './respond';
import { type SignalRoute, handleSignalRoute } from './signal-route';
import type { Log } from '../log';
import type { EndpointState } from '../state';

export const SINGLE_BODY_LIMIT = 1024 * 1024;
export const BATCH_BODY_LIMIT = 8 * 1024 * 1024;

export interface EndpointServerOptions {
  state: EndpointState;
  log: Log;
  /** Every answered inference, as the signal to write. Must not block. */
  onSignals: (signals: SignalWrite[]) => void;
}

const SIGNAL_ROUTES: Record<string, SignalRoute> = {
  '/v1/signal': { batch: false, limit: SINGLE_BODY_LIMIT },
  '/v1/signals': { batch: true, limit: BATCH_BODY_LIMIT },
};

function pathname(req: http.IncomingMessage): string {
  const url = req.url ?? '/';
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}

async function route(req: http.IncomingMessage, res: http.ServerResponse, options: EndpointServerOptions): Promise<void> {
  const path = pathname(req);
  if (path === '/health') {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendJson(res, 405, errorBody('METHOD_NOT_ALLOWED', `${req.method} is not allowed on /health; use GET`), { allow: 'GET, HEAD' });
    }
    const health = options.state.health();
    return sendJson(res, health.status === 'READY' ? 200 : 503, health);
  }
  const signalRoute = SIGNAL_ROUTES[path];
  if (signalRoute === undefined) {
    return sendJson(res, 404, errorBody('NOT_FOUND', `no ${path} here: this endpoint serves GET /health, POST /v1/signal and POST /v1/signals`));
  }
  if (req.method !== 'POST') {
    return sendJson(res, 405, errorBody('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${path}; use POST`), { allow: 'POST' });
  }
  return handleSignalRoute(req, res, signalRoute, options);
}

export function createEndpointServer(options: EndpointServerOptions): http.Server {
  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const requestId = callerRequestId(req) ?? randomUUID();
    res.setHeader('x-request-id', requestId);
    route(req, res, options).catch((error: unknown) => {
      options.log.error(`request ${requestId} (${req.method} ${pathname(req)}) failed: ${(error as Error).stack ?? String(error)}`);
      const body = errorBody('INTERNAL', 'the endpoint failed to answer; the log has the details');
      body.error.requestId = requestId;
      sendJson(res, 500, body);
    });
  };
  const server = http.createServer(handle);
  // With a listener, Node leaves Expect: 100-continue to us: the route answers 413 before the body is sent.
  server.on('checkContinue', handle);
  server.on('clientError', answerClientError);
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  return server;
}
