// Serves the offline GraphiQL page built by scripts/build-graphiql.mjs: the page itself on a
// browser's GET /graphql, its assets under /graphiql/.
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { packageRoot } from '../paths';
import { assetName, pathOf, sendStaticFile, sendText } from './static-files';

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

// The page answers /graphql, which also answers GraphQL: caches must key on Accept.
const PAGE = { csp: GRAPHIQL_CSP, vary: 'Accept' };

/** dist/graphiql of this package, whether running from dist/ (compiled) or from sources (tsx). */
export function graphiqlAssetsDir(): string {
  return join(packageRoot(), 'dist', 'graphiql');
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
    await sendStaticFile(req, res, join(dir, 'index.html'), PAGE);
    return true;
  }
  const name = assetName(path, ASSET_PREFIX);
  if (name === null) {
    sendText(res, 404, 'Not found');
    return true;
  }
  await sendStaticFile(req, res, join(dir, name), PAGE);
  return true;
}
