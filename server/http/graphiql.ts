// Serves the offline GraphiQL page built by scripts/build-graphiql.mjs: the page itself on a
// browser's GET /graphql, its assets under /graphiql/.
import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { packageRoot } from '../paths';

const ASSET_PREFIX = '/graphiql/';

// The minimum GraphiQL 5 + Monaco run under (checked in Chromium): Monaco injects <style>
// elements and style attributes, hence 'unsafe-inline' for styles only; fonts and icons are
// bundled as data: URLs; img-src 'self' is for GraphiQL's preview of image paths in results.
// No 'unsafe-eval', and scripts and workers come only from us.
export const GRAPHIQL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  'font-src data:',
  "connect-src 'self' ws: wss:",
  "worker-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.ttf': 'font/ttf',
  '.woff2': 'font/woff2',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
};

// esbuild's [hash]: 8 characters of base32.
const HASHED_NAME = /-[A-Z2-7]{8}\.[a-z0-9]+$/;
const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** dist/graphiql of this package, whether running from dist/ (compiled) or from sources (tsx). */
export function graphiqlAssetsDir(): string {
  return join(packageRoot(), 'dist', 'graphiql');
}

function pathOf(req: IncomingMessage): string {
  // Deliberately not normalized (no URL parsing): "/graphiql/../x" must stay ours, and be refused.
  return (req.url ?? '/').split('?')[0];
}

/** Quality the Accept header gives a media type; wildcards count only when `wildcards` is set. */
function quality(accept: string, type: string, wildcards: boolean): number {
  let best = 0;
  for (const part of accept.split(',')) {
    const [range, ...params] = part.trim().toLowerCase().split(';');
    const matches = range === type || (wildcards && (range === '*/*' || range === `${type.split('/')[0]}/*`));
    if (!matches) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const value = q === undefined ? 1 : Number(q.slice(2));
    if (Number.isFinite(value)) best = Math.max(best, value);
  }
  return best;
}

/** A browser navigating to /graphql (it asks for text/html before any GraphQL response type). */
export function wantsGraphiql(req: IncomingMessage): boolean {
  if ((req.method !== 'GET' && req.method !== 'HEAD') || pathOf(req) !== '/graphql') return false;
  const accept = req.headers.accept ?? '';
  const html = quality(accept, 'text/html', false);
  const json = Math.max(quality(accept, 'application/json', true), quality(accept, 'application/graphql-response+json', true));
  return html > 0 && html > json;
}

async function sendFile(req: IncomingMessage, res: ServerResponse, file: string): Promise<void> {
  const stats = await stat(file).catch(() => undefined);
  if (!stats?.isFile()) {
    sendText(res, 404, 'Not found');
    return;
  }
  const ext = extname(file);
  res.statusCode = 200;
  res.setHeader('Content-Type', CONTENT_TYPES[ext] ?? 'application/octet-stream');
  res.setHeader('Content-Length', stats.size);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Cache-Control', HASHED_NAME.test(file) ? 'public, max-age=31536000, immutable' : 'no-cache');
  if (ext === '.html') {
    res.setHeader('Content-Security-Policy', GRAPHIQL_CSP);
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Vary', 'Accept');
  }
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  // A client that goes away mid-download rejects the pipeline; the response is already destroyed.
  await pipeline(createReadStream(file), res).catch(() => undefined);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(text);
}

/**
 * Answers the GraphiQL page (browser GET /graphql) and its assets (/graphiql/<file>).
 * Returns false, without touching `res`, for any other request.
 */
export async function serveGraphiql(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const path = pathOf(req);
  const page = wantsGraphiql(req);
  if (!page && !path.startsWith(ASSET_PREFIX)) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    sendText(res, 405, 'Method not allowed');
    return true;
  }
  const dir = graphiqlAssetsDir();
  if (!existsSync(join(dir, 'index.html'))) {
    sendText(res, 503, 'GraphiQL is not built: run `npm run build`');
    return true;
  }
  if (page) {
    await sendFile(req, res, join(dir, 'index.html'));
    return true;
  }
  let name: string;
  try {
    name = decodeURIComponent(path.slice(ASSET_PREFIX.length));
  } catch {
    name = '';
  }
  // The build output is flat, so a plain file name is all that can be asked for.
  if (!SAFE_NAME.test(name) || name.includes('..')) {
    sendText(res, 404, 'Not found');
    return true;
  }
  await sendFile(req, res, join(dir, name));
  return true;
}
