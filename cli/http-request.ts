// HTTP for the API client (cli/client.ts) over node:http(s) rather than fetch(). fetch (undici)
// costs about 80 ms before its first request here (loading undici and compiling its
// WebAssembly parser), which every `mp` command would pay. Large downloads use
// cli/streamed-get.ts instead.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The whole body as text. */
  text(): Promise<string>;
}

export interface HttpRequestOptions {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Aborts the request, or the body being read, with an AbortError (or the signal's reason). */
  signal?: AbortSignal;
}

/**
 * Sends one request (no redirects) and resolves once the response headers are in. Rejects
 * with the socket's error (codes such as ECONNREFUSED) or an AbortError; after the headers,
 * an abort or a dropped connection rejects text().
 */
export function httpRequest(url: string, options: HttpRequestOptions = {}): Promise<HttpResponse> {
  const target = new URL(url);
  if (target.protocol !== 'https:' && target.protocol !== 'http:') {
    return Promise.reject(new Error(`unsupported URL scheme ${target.protocol} (use http or https)`));
  }
  const transport =
    target.protocol === 'https:' ? (require('node:https') as typeof import('node:https')) : (require('node:http') as typeof import('node:http'));
  const headers = { ...options.headers };
  if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
  return new Promise((resolve, reject) => {
    const request = transport.request(target, { method: options.method ?? 'GET', headers, signal: options.signal }, (response) =>
      resolve({ status: response.statusCode ?? 0, headers: response.headers, text: () => readText(response) }),
    );
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
