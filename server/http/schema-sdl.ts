import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { printSchema, type GraphQLSchema } from 'graphql';

export const SCHEMA_SDL_PATH = '/graphql/schema.graphql';

export interface SchemaSdl {
  text: string;
  etag: string;
}

/** The merged SDL of every schema/*.graphql file, descriptions included, printed once at startup. */
export function printedSchema(schema: GraphQLSchema): SchemaSdl {
  const text = `${printSchema(schema)}\n`;
  return { text, etag: `"${createHash('sha256').update(text).digest('base64url').slice(0, 27)}"` };
}

/**
 * GET /graphql/schema.graphql: the SDL for frontend developers and codegen. There is no
 * registered media type for SDL, and text/plain shows in a browser tab. It changes only with
 * a deployment, so it may be cached briefly and revalidated by ETag. Off with introspection:
 * publishing the schema would undo MP_INTROSPECTION=false.
 */
export function serveSchemaSdl(req: IncomingMessage, res: ServerResponse, sdl: SchemaSdl, published: boolean): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    res.writeHead(405, { 'content-type': 'text/plain; charset=utf-8' }).end(`${req.method} is not allowed here: use GET\n`);
    return;
  }
  if (!published) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('the schema is not published on this server: introspection is off (MP_INTROSPECTION=false)\n');
    return;
  }
  res.setHeader('cache-control', 'public, max-age=300, must-revalidate');
  res.setHeader('etag', sdl.etag);
  res.setHeader('x-content-type-options', 'nosniff');
  if (etagMatches(req.headers['if-none-match'], sdl.etag)) {
    res.writeHead(304).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(sdl.text) });
  res.end(req.method === 'HEAD' ? undefined : sdl.text);
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}
