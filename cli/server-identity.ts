import { normalizeApiUrl } from './config';

/**
 * Names this machine for every client: `localhost` (and `*.localhost`, RFC 6761), 127.0.0.0/8,
 * ::1 and 0.0.0.0, which a server bound to all interfaces prints and which connects locally.
 */
function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (host === '::1' || host === '0.0.0.0' || host === '::') return true;
  if (/^127(\.\d{1,3}){3}$/.test(host)) return true;
  return /^::ffff:(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|7f[0-9a-f]{2}:[0-9a-f]{1,4})$/.test(host);
}

/**
 * The server an API URL points at, whatever its spelling: scheme, host (every loopback
 * spelling as one), port (the scheme's default filled in) and the normalized /graphql path.
 */
export function serverIdentity(apiUrl: string): string {
  const url = new URL(normalizeApiUrl(apiUrl));
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const host = isLoopbackHost(url.hostname) ? 'loopback' : url.hostname;
  return `${url.protocol}//${host}:${port}${url.pathname}`;
}

export function sameServer(a: string, b: string): boolean {
  return serverIdentity(a) === serverIdentity(b);
}
