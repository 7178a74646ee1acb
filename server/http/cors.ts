import type { IncomingMessage, ServerResponse } from 'node:http';

const ALLOWED_HEADERS = 'authorization, content-type, x-request-id, idempotency-key, apollo-require-preflight, x-apollo-operation-name';

/**
 * CORS for the allowlist in MP_CORS_ORIGINS. Same-origin requests need nothing; a
 * listed origin gets the headers; any other origin gets none, so browsers refuse to
 * hand it the response (and Apollo's CSRF prevention refuses its simple requests).
 * Returns true when it answered the request itself (a preflight).
 */
export function applyCors(req: IncomingMessage, res: ServerResponse, allowlist: string[]): boolean {
  const origin = req.headers.origin;
  const allowed = typeof origin === 'string' && allowlist.includes(origin);
  if (allowed) {
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Expose-Headers', 'x-request-id, retry-after');
  }
  res.setHeader('Vary', 'Origin');
  if (req.method !== 'OPTIONS') return false;
  if (allowed) {
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
    res.setHeader('Access-Control-Max-Age', '600');
    res.writeHead(204).end();
  } else {
    res.writeHead(403, { 'content-type': 'text/plain' }).end('origin not allowed (MP_CORS_ORIGINS)\n');
  }
  return true;
}

/** WebSockets skip CORS: refuse a cross-site upgrade unless its origin is listed. */
export function originAllowedForUpgrade(req: IncomingMessage, allowlist: string[]): boolean {
  const origin = req.headers.origin;
  if (!origin) return true; // not a browser (CLI, server-to-server)
  if (allowlist.includes(origin)) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
