// Serves the web console built by scripts/build-web.mjs (dist/web/): its hashed assets under
// /web/, and its page for the console's own paths and any other browser navigation.
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { packageRoot } from '../paths';
import { assetName, pathOf, sendStaticFile, sendText } from './static-files';

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

const PAGE = { csp: WEB_CSP };

/** The page's own paths (web/routes.ts): answered 200; any other browser navigation gets the page's "not found" with 404. */
const PAGE_PATHS = /^\/(?:login|leaderboard|models\/[^/]+\/[^/]+|console(?:\/[A-Za-z0-9_-]+)*)?\/?$/;

export function webAssetsDir(): string {
  return join(packageRoot(), 'dist', 'web');
}

function isNavigation(req: IncomingMessage): boolean {
  return /\btext\/html\b/.test(req.headers.accept ?? '');
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
    await sendStaticFile(req, res, join(dir, 'index.html'), PAGE, PAGE_PATHS.test(path) ? 200 : 404);
    return true;
  }
  const name = assetName(path, ASSET_PREFIX);
  if (name === null || name === 'index.html') {
    sendText(res, 404, 'Not found');
    return true;
  }
  await sendStaticFile(req, res, join(dir, name), PAGE);
  return true;
}
