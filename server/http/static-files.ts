// Sending the files of a built bundle (dist/graphiql, dist/web): content types, long caching of
// hashed names, and the page's own security headers.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname } from 'node:path';
import { pipeline } from 'node:stream/promises';

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

export function pathOf(req: IncomingMessage): string {
  // Deliberately not normalized (no URL parsing): "/graphiql/../x" must stay ours, and be refused.
  return (req.url ?? '/').split('?')[0];
}

/**
 * The file name a bundle's asset path asks for (`/web/console-AB12CD34.js` under `/web/`), or
 * null: build outputs are flat, so a plain file name is all that can be asked for.
 */
export function assetName(path: string, prefix: string): string | null {
  let name: string;
  try {
    name = decodeURIComponent(path.slice(prefix.length));
  } catch {
    return null;
  }
  return SAFE_NAME.test(name) && !name.includes('..') ? name : null;
}

export interface PageHeaders {
  /** The Content-Security-Policy of the bundle's HTML page. */
  csp: string;
  /** A Vary header for the page, when the same path answers other things too. */
  vary?: string;
}

export async function sendStaticFile(req: IncomingMessage, res: ServerResponse, file: string, page: PageHeaders, status = 200): Promise<void> {
  const stats = await stat(file).catch(() => undefined);
  if (!stats?.isFile()) {
    sendText(res, 404, 'Not found');
    return;
  }
  const ext = extname(file);
  res.statusCode = status;
  res.setHeader('Content-Type', CONTENT_TYPES[ext] ?? 'application/octet-stream');
  res.setHeader('Content-Length', stats.size);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Cache-Control', HASHED_NAME.test(file) ? 'public, max-age=31536000, immutable' : 'no-cache');
  if (ext === '.html') {
    res.setHeader('Content-Security-Policy', page.csp);
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (page.vary) res.setHeader('Vary', page.vary);
  }
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  // A client that goes away mid-download rejects the pipeline; the response is already destroyed.
  await pipeline(createReadStream(file), res).catch(() => undefined);
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(text);
}
