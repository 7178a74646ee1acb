// Serves the web console built by scripts/build-web.mjs (dist/web/): its hashed assets under
// /web/, and its page for the console's own paths and any other browser navigation.
import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { packageRoot } from '../paths';

const ASSET_PREFIX = '/web/';

// Stricter than GraphiQL's: no inline styles (React and uPlot set styles through the CSSOM, which CSP allows), no workers.
export const WEB_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

const HASHED_NAME = /-[A-Z2-7]{8}\.[a-z0-9]+$/;
const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
/** The page's own paths (web/routes.ts): answered 200; any other browser navigation gets the page's "not found" with 404. */
const PAGE_PATHS = /^\/(?:login|leaderboard|models\/[^/]+\/[^/]+|console(?:\/[A-Za-z0-9_-]+)*)?\/?$/;

export function webAssetsDir(): string {
  return join(packageRoot(), 'dist', 'web');
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0];
}

function isNavigation(req: IncomingMessage): boolean {
  return /\btext\/html\b/.test(req.headers.accept ?? '');
}

async function sendFile(req: IncomingMessage, res: ServerResponse, file: string, status = 200): Promise<void> {
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
    res.setHeader('Content-Security-Policy', WEB_CSP);
    res.setHeader('Referrer-Policy', 'no-referrer');
  }
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await pipeline(createReadStream(file), res).catch(() => undefined);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(text);
}

/**
 * Answers the console's assets (/web/<file>), its page at / (always) and at any path a browser
 * navigates to. Returns false, without touching `res`, for any other request.
 */
export async function serveWebConsole(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const path = pathOf(req);
  const asset = path.startsWith(ASSET_PREFIX);
  if (!asset && path !== '/' && !isNavigation(req)) return false;
  const dir = webAssetsDir();
  if (!existsSync(join(dir, 'index.html'))) {
    sendText(res, 503, 'The web console is not built: run `npm run build`.\n');
    return true;
  }
  if (!asset) {
    await sendFile(req, res, join(dir, 'index.html'), PAGE_PATHS.test(path) ? 200 : 404);
    return true;
  }
  let name: string;
  try {
    name = decodeURIComponent(path.slice(ASSET_PREFIX.length));
  } catch {
    name = '';
  }
  if (!SAFE_NAME.test(name) || name.includes('..') || name === 'index.html') {
    sendText(res, 404, 'Not found');
    return true;
  }
  await sendFile(req, res, join(dir, name));
  return true;
}
