/** How a client of an OAuth-style endpoint authenticated, read from its Authorization header. */
export type ClientCredentials =
  | { kind: 'basic'; clientId: string; secret: string }
  | { kind: 'bearer'; secret: string }
  | { kind: 'missing' }
  | { kind: 'malformed'; scheme: 'basic' | 'bearer' | 'other' };

/**
 * HTTP Basic as RFC 6749 §2.3.1 has it (the client id and secret each form-urlencoded, then
 * joined by `:` and base64-encoded), or a bearer token that is the secret itself.
 */
export function clientCredentials(authorization: string | undefined): ClientCredentials {
  const header = authorization?.trim();
  if (!header) return { kind: 'missing' };
  const bearer = /^Bearer +(\S+)$/i.exec(header);
  if (bearer) return { kind: 'bearer', secret: bearer[1] };
  if (/^Bearer\b/i.test(header)) return { kind: 'malformed', scheme: 'bearer' };
  const basic = /^Basic +([A-Za-z0-9+/]+={0,2})$/i.exec(header);
  if (!basic) return { kind: 'malformed', scheme: /^Basic\b/i.test(header) ? 'basic' : 'other' };
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const clientId = colon > 0 ? formDecoded(decoded.slice(0, colon)) : undefined;
  const secret = colon > 0 ? formDecoded(decoded.slice(colon + 1)) : undefined;
  if (!clientId || !secret) return { kind: 'malformed', scheme: 'basic' };
  return { kind: 'basic', clientId, secret };
}

function formDecoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}
