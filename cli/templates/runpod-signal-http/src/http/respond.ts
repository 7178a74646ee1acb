/** Every answer is JSON: a result, or `{"error": {"code", "message", "fields"?}}`. */
import type { ServerResponse } from 'node:http';

export interface FieldError {
  /** Where in the request body, e.g. `requests.3.horizonDays` ("body" for the whole body). */
  path: string;
  message: string;
}

export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'MALFORMED_JSON'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'NOT_READY'
  | 'BUSY'
  | 'MODEL_ERROR'
  | 'REQUEST_TIMEOUT'
  | 'HEADERS_TOO_LARGE'
  | 'INTERNAL';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; fields?: FieldError[]; requestId?: string };
}

export function errorBody(code: ErrorCode, message: string, fields?: FieldError[]): ErrorBody {
  return { error: { code, message, ...(fields ? { fields } : {}) } };
}

export function jsonBytes(body: unknown): Buffer {
  return Buffer.from(JSON.stringify(body), 'utf8');
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const bytes = jsonBytes(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(bytes.length),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(bytes);
}
