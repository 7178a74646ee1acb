import type { IncomingMessage, ServerResponse } from 'node:http';
import { DomainError, type ErrorCode } from '../domain-error';
import type { Services } from '../context';
import type { DeploymentCaller } from '../modules/deployments/token-validator';
import { BodyTooLargeError, readBody } from './body';
import { sendError } from './graphql-http';
import { bearerToken } from './request-headers';
import type { RequestLimits } from './request-limits';
import { holdThrottledAnswer } from './throttled-answer';

/** 5,000 signals of about 120 bytes each, with room to spare. */
const BODY_LIMIT_BYTES = 4 * 1024 * 1024;

const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  BAD_USER_INPUT: 400,
  CONFLICT: 409,
  PRECONDITION_FAILED: 409,
  RATE_LIMITED: 429,
};

/**
 * `POST /api/signals/store`: `writeSignals` for infrastructure that does not speak GraphQL. A
 * SignalWriteBatch `{"signals": [...]}` as JSON with the deployment's token as the bearer, an
 * optional Idempotency-Key; the same checks, rate limits and answer (a SignalWriteResult, 200)
 * as the mutation. Errors are `{"errors": [{message, extensions: {code}}]}` with a status that
 * says whether a retry can help (429 and 5xx) or not (4xx).
 */
export async function serveSignalStore(
  req: IncomingMessage,
  res: ServerResponse,
  context: { services: Pick<Services, 'deploymentTokens' | 'signalStore'>; requestLimits: RequestLimits; requestId: string },
): Promise<void> {
  res.setHeader('cache-control', 'no-store');
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    return sendError(res, 405, `${req.method} is not allowed here: POST a SignalWriteBatch {"signals": [...]} as JSON`);
  }
  const token = bearerToken(req.headers.authorization);
  if (!token) return sendError(res, 401, "send the deployment's token: Authorization: Bearer sit_...");
  if (!context.services.deploymentTokens.owns(token)) {
    return sendError(res, 403, "signals are written with a deployment's own token (sit_...), not an API key", 'FORBIDDEN');
  }
  let deployment: DeploymentCaller;
  try {
    deployment = await context.services.deploymentTokens.authenticate(token, req.socket.remoteAddress);
  } catch (error) {
    return sendDomainError(res, error);
  }
  if (!(await context.requestLimits.admit(res, { requestId: context.requestId, principal: null, deployment }))) return;

  const mediaType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (mediaType !== 'application/json') return sendError(res, 415, 'the body must be application/json: {"signals": [...]}');
  let body: unknown;
  try {
    body = JSON.parse(await readBody(req, BODY_LIMIT_BYTES));
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      res.setHeader('connection', 'close');
      return sendError(res, 413, `the body is larger than ${BODY_LIMIT_BYTES / 1024 / 1024} MiB: send at most 5,000 signals at a time`);
    }
    if (error instanceof SyntaxError) return sendError(res, 400, `the body is not JSON: ${error.message}`);
    throw error;
  }
  const signals = (body as { signals?: unknown } | null)?.signals;
  if (!Array.isArray(signals))
    return sendError(res, 400, 'the body must be a SignalWriteBatch: {"signals": [...]}', 'BAD_USER_INPUT', {
      fields: [{ field: 'signals', message: 'an array' }],
    });
  const key = req.headers['idempotency-key'];
  try {
    const answer = await context.services.signalStore.write(deployment, signals, Array.isArray(key) ? key[0] : key);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(answer));
  } catch (error) {
    return sendDomainError(res, error);
  }
}

async function sendDomainError(res: ServerResponse, error: unknown): Promise<void> {
  if (!(error instanceof DomainError)) throw error;
  if (error.code === 'RATE_LIMITED') {
    await holdThrottledAnswer(error);
    res.setHeader('retry-after', String(error.details.retryAfter ?? 1));
  }
  sendError(res, STATUS_OF[error.code] ?? 400, error.message, error.code, { ...error.details });
}
