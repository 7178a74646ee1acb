import type { IncomingMessage, ServerResponse } from 'node:http';
import { DomainError } from '../domain-error';
import type { Services } from '../context';
import { introspectionAnswer } from '../modules/deployments/introspection';
import { BodyTooLargeError, readBody } from './body';
import { clientCredentials, type ClientCredentials } from './client-credentials';
import { MalformedFormError, parseForm } from './form-body';
import { holdThrottledAnswer } from './throttled-answer';

const REALM = 'mp-introspection';
/** A token is about 60 bytes: a form much larger than this is no introspection request. */
const BODY_LIMIT_BYTES = 8 * 1024;

/**
 * `POST /oauth/introspect` (RFC 7662) for the trading infrastructure: the caller authenticates
 * as an infrastructure client (HTTP Basic `client_id:client_secret`, or the secret as a bearer
 * token) and POSTs `token=...` as a form; a live deployment token is described, anything else
 * is `{"active": false}`. No answer may be cached.
 */
export async function serveIntrospection(
  req: IncomingMessage,
  res: ServerResponse,
  services: Pick<Services, 'infraClients' | 'deploymentTokens'>,
): Promise<void> {
  res.setHeader('cache-control', 'no-store');
  res.setHeader('pragma', 'no-cache');
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    return send(res, 405, oauthError('invalid_request', `${req.method} is not allowed here: POST a form with token=...`));
  }

  const credentials = clientCredentials(req.headers.authorization);
  if (credentials.kind === 'missing' || credentials.kind === 'malformed') {
    const problem = credentials.kind === 'missing' ? 'client authentication is required' : 'malformed Authorization header';
    return refuseClient(res, credentials, `${problem}: send HTTP Basic client_id:client_secret (or Bearer ic_...)`);
  }
  try {
    await services.infraClients.authenticate(credentials.secret, {
      clientId: credentials.kind === 'basic' ? credentials.clientId : undefined,
      address: req.socket.remoteAddress,
    });
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    if (error.code === 'RATE_LIMITED') return sendThrottled(res, error, 'invalid_client');
    return refuseClient(res, credentials, error.message);
  }

  const mediaType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (mediaType !== 'application/x-www-form-urlencoded') {
    return send(res, 415, oauthError('invalid_request', 'the body must be application/x-www-form-urlencoded (token=...)'));
  }
  let form: Map<string, string>;
  try {
    form = parseForm(await readBody(req, BODY_LIMIT_BYTES));
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      res.setHeader('connection', 'close');
      return send(res, 413, oauthError('invalid_request', `the body is larger than ${BODY_LIMIT_BYTES / 1024} KiB`));
    }
    if (error instanceof MalformedFormError) return send(res, 400, oauthError('invalid_request', error.message));
    throw error;
  }
  const token = form.get('token');
  if (!token) return send(res, 400, oauthError('invalid_request', 'the token parameter is required'));
  // token_type_hint is only a hint (RFC 7662 §2.1): whatever it says, every kind of token is tried.

  try {
    return send(res, 200, introspectionAnswer(await services.deploymentTokens.introspect(token)));
  } catch (error) {
    if (error instanceof DomainError && error.code === 'RATE_LIMITED') return sendThrottled(res, error, 'temporarily_unavailable');
    throw error;
  }
}

function refuseClient(res: ServerResponse, credentials: ClientCredentials, description: string): void {
  const scheme = credentials.kind === 'malformed' ? credentials.scheme : credentials.kind;
  const basic = `Basic realm="${REALM}", charset="UTF-8"`;
  const bearer = `Bearer realm="${REALM}"${scheme === 'bearer' ? ', error="invalid_token"' : ''}`;
  // RFC 6749 §5.2: the challenge names the scheme the client tried; both when it tried neither.
  res.setHeader('www-authenticate', scheme === 'basic' ? basic : scheme === 'bearer' ? bearer : [basic, bearer]);
  send(res, 401, oauthError('invalid_client', description));
}

async function sendThrottled(res: ServerResponse, error: DomainError, code: string): Promise<void> {
  await holdThrottledAnswer(error);
  res.setHeader('retry-after', String(error.details.retryAfter ?? 1));
  send(res, 429, oauthError(code, error.message));
}

function oauthError(error: string, description: string): { error: string; error_description: string } {
  return { error, error_description: description };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}
