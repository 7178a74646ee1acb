// HTTP for the CLI over node:http(s) rather than fetch(). fetch (undici) costs about 80 ms
// before its first request here (loading undici and compiling its WebAssembly parser), which
// every `mp` command would pay, and about a third more CPU per byte on a large download.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body; read it, or call discard(). */
  body: IncomingMessage;
  /** The whole body as text. */
  text(): Promise<string>;
  /** Drops the body and its connection. */
  discard(): void;
}

export interface HttpRequestOptions {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Aborts the request, or the body being read, with an AbortError (or the signal's reason). */
  signal?: AbortSignal;
}

const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Sends one request and resolves once the response headers are in. A GET follows up to 5
 * redirects. Rejects with the socket's error (codes such as ECONNREFUSED) or an AbortError;
 * after the headers, an abort or a dropped connection is an error on `body`.
 */
export async function httpRequest(url: string, options: HttpRequestOptions = {}): Promise<HttpResponse> {
  const method = options.method ?? 'GET';
  let target = new URL(url);
  for (let redirects = 0; ; redirects += 1) {
    const response = await requestOnce(target, method, options);
    const location = response.headers.location;
    if (method === 'GET' && REDIRECTS.has(response.statusCode ?? 0) && location) {
      response.destroy();
      if (redirects >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects from ${url}`);
      target = new URL(location, target);
      continue;
    }
    return {
      status: response.statusCode ?? 0,
      headers: response.headers,
      body: response,
      text: () => readText(response),
      discard: () => response.destroy(),
    };
  }
}

function requestOnce(target: URL, method: string, options: HttpRequestOptions): Promise<IncomingMessage> {
  if (target.protocol !== 'https:' && target.protocol !== 'http:') {
    return Promise.reject(new Error(`unsupported URL scheme ${target.protocol} (use http or https)`));
  }
  const transport = target.protocol === 'https:' ? (require('node:https') as typeof import('node:https')) : (require('node:http') as typeof import('node:http'));
  const headers = { ...options.headers };
  if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
  return new Promise((resolve, reject) => {
    const request = transport.request(target, { method, headers, signal: options.signal }, resolve);
    request.on('error', reject);
    request.end(options.body);
  });
}

async function readText(body: IncomingMessage): Promise<string> {
  body.setEncoding('utf8');
  let text = '';
  for await (const chunk of body) text += chunk as string;
  return text;
}
