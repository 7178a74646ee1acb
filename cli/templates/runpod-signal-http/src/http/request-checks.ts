/** Checks of a request's headers made before its body is read. */
import type { IncomingMessage } from 'node:http';

/** `application/json` or `application/<anything>+json`, in UTF-8 (the only charset JSON has). */
export function contentTypeProblem(req: IncomingMessage): string | null {
  const header = req.headers['content-type'];
  if (!header) return 'send the body as JSON, with Content-Type: application/json';
  const [type, ...params] = header.split(';').map((part) => part.trim().toLowerCase());
  if (type !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) {
    return `Content-Type is ${type}; send the body as JSON, with Content-Type: application/json`;
  }
  const charset = params
    .find((param) => param.startsWith('charset='))
    ?.slice('charset='.length)
    .replace(/"/g, '');
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') return `the charset is ${charset}; JSON is sent as UTF-8`;
  const encoding = req.headers['content-encoding']?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') return `Content-Encoding ${encoding} is not accepted; send the body uncompressed`;
  return null;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's X-Request-Id when it is a sensible one, else null. */
export function callerRequestId(req: IncomingMessage): string | null {
  const header = req.headers['x-request-id'];
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : null;
}
