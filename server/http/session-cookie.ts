import type { IncomingMessage, ServerResponse } from 'node:http';
import { SESSION_COOKIE, SESSION_TTL_MS } from '../modules/identity/session-token';

/** The session token from a Cookie header, if it carries one. */
export function sessionCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE) return value.join('=') || undefined;
  }
  return undefined;
}

/** Secure when the site is served over https (MP_PUBLIC_URL, or a TLS-terminating proxy's X-Forwarded-Proto). */
export function servedOverHttps(req: IncomingMessage, publicUrl: string | undefined): boolean {
  return publicUrl?.startsWith('https:') === true || req.headers['x-forwarded-proto'] === 'https';
}

function cookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return [`${SESSION_COOKIE}=${value}`, 'Path=/', `Max-Age=${maxAgeSeconds}`, 'HttpOnly', 'SameSite=Strict', ...(secure ? ['Secure'] : [])].join('; ');
}

export function setSessionCookie(res: ServerResponse, token: string, expiresAt: Date, secure: boolean): void {
  const seconds = Math.max(0, Math.min(Math.floor(SESSION_TTL_MS / 1000), Math.floor((expiresAt.getTime() - Date.now()) / 1000)));
  res.setHeader('set-cookie', cookie(token, seconds, secure));
}

export function clearSessionCookie(res: ServerResponse, secure: boolean): void {
  res.setHeader('set-cookie', cookie('', 0, secure));
}
