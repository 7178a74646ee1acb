// POST /auth/session exchanges an API key for a session cookie; DELETE /auth/session signs out.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Services } from '../context';
import { DomainError } from '../domain-error';
import { BodyTooLargeError, readBody } from './body';
import { originAllowedForUpgrade } from './cors';
import { sendError } from './graphql-http';
import { holdThrottledAnswer } from './throttled-answer';
import { clearSessionCookie, servedOverHttps, sessionCookie, setSessionCookie } from './session-cookie';

export const AUTH_SESSION_PATH = '/auth/session';

export interface AuthSessionOptions {
  services: Services;
  corsOrigins: string[];
  publicUrl: string | undefined;
}

export async function serveAuthSession(req: IncomingMessage, res: ServerResponse, options: AuthSessionOptions): Promise<void> {
  res.setHeader('cache-control', 'no-store');
  // A cookie is only ever set or cleared for a page of this site (or an allowed origin): no cross-site sign-in or sign-out.
  if (!originAllowedForUpgrade(req, options.corsOrigins)) return sendError(res, 403, 'this origin may not sign in here (MP_CORS_ORIGINS)', 'FORBIDDEN');
  const secure = servedOverHttps(req, options.publicUrl);
  if (req.method === 'DELETE') {
    const token = sessionCookie(req.headers.cookie);
    if (token) await options.services.sessions.close(token);
    clearSessionCookie(res, secure);
    res.writeHead(204).end();
    return;
  }
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST, DELETE');
    return sendError(res, 405, `method ${req.method} is not allowed on ${AUTH_SESSION_PATH}: POST an API key to sign in, DELETE to sign out`);
  }
  // JSON only: a cross-site HTML form cannot send it without a CORS preflight.
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
    return sendError(res, 415, 'send a JSON body {"apiKey": "vk_..."} with Content-Type: application/json');
  }
  let apiKey: unknown;
  try {
    apiKey = (JSON.parse(await readBody(req, 16 * 1024)) as { apiKey?: unknown } | null)?.apiKey;
  } catch (error) {
    if (error instanceof BodyTooLargeError) return sendError(res, 413, 'the sign-in body is too large: send only {"apiKey": "vk_..."}');
    return sendError(res, 400, 'the body is not JSON: send {"apiKey": "vk_..."}');
  }
  if (typeof apiKey !== 'string' || apiKey.trim() === '') return sendError(res, 400, 'enter your API key (it starts with vk_)');
  try {
    const { token, session } = await options.services.sessions.open(apiKey.trim(), req.socket.remoteAddress, req.headers['user-agent']);
    setSessionCookie(res, token, session.expiresAt, secure);
    res.writeHead(201, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify({ session: { id: session.id, expiresAt: session.expiresAt.toISOString() } }));
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    if (error.code === 'RATE_LIMITED') {
      await holdThrottledAnswer(error);
      res.setHeader('retry-after', String(error.details.retryAfter ?? 1));
      return sendError(res, 429, error.message, error.code);
    }
    return sendError(res, 401, error.message, error.code);
  }
}
