// Whether one exchange is a 2xx JSON answer that a zod validator of generated/contracts.ts accepts.
import type * as z from 'zod';
import { transportProblem } from './describe-outcome';
import type { Exchange } from './http-client';

export type JsonAnswer<T> = { ok: true; value: T } | { ok: false; reason: string };

const MAX_ISSUES = 4;

/** "score: Too big: expected number to be <=1; confidence: Invalid input: expected number, received string". */
export function formatIssues(error: z.ZodError): string {
  const issues = error.issues.slice(0, MAX_ISSUES).map((issue) => {
    const at =
      issue.path.length === 0
        ? '(the whole body)'
        : issue.path
            .map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`))
            .join('')
            .replace(/^\./, '');
    return `${at}: ${issue.message}`;
  });
  const more = error.issues.length > MAX_ISSUES ? `; and ${error.issues.length - MAX_ISSUES} more` : '';
  return `${issues.join('; ')}${more}`;
}

export function parseJson(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

/** A whole answer with any status, its body parsed as JSON and checked against `schema`. */
export function conformingBody<S extends z.ZodType>(exchange: Exchange, schema: S, typeName: string, timeoutMs: number): JsonAnswer<z.output<S>> {
  const { outcome } = exchange;
  const problem = transportProblem(outcome, timeoutMs);
  if (problem !== undefined || outcome.kind !== 'response') return { ok: false, reason: problem ?? 'no answer' };
  if (outcome.body.trim() === '') return { ok: false, reason: `HTTP ${outcome.status} with an empty body (expected JSON: ${typeName})` };
  const parsed = parseJson(outcome.body);
  if (!parsed.ok)
    return { ok: false, reason: `HTTP ${outcome.status}, but the body is not JSON (${outcome.contentType ?? 'no content-type'}: ${parsed.reason})` };
  const checked = schema.safeParse(parsed.value);
  if (!checked.success) return { ok: false, reason: `the answer does not conform to ${typeName}: ${formatIssues(checked.error)}` };
  return { ok: true, value: checked.data };
}

/** As conformingBody, and the status must be 2xx. */
export function conformingAnswer<S extends z.ZodType>(exchange: Exchange, schema: S, typeName: string, timeoutMs: number): JsonAnswer<z.output<S>> {
  const { outcome } = exchange;
  if (outcome.kind === 'response' && outcome.complete && (outcome.status < 200 || outcome.status > 299)) {
    const body = parseJson(outcome.body);
    const said = body.ok && typeof body.value === 'object' && body.value !== null ? errorText(body.value) : undefined;
    return { ok: false, reason: `HTTP ${outcome.status} (expected 2xx)${said ? `: ${said}` : ''}` };
  }
  return conformingBody(exchange, schema, typeName, timeoutMs);
}

/** An error body's own words, when it has them ({error: "..."} or {message: "..."}). */
function errorText(body: object): string | undefined {
  for (const key of ['error', 'message', 'detail']) {
    const value = (body as Record<string, unknown>)[key];
    if (typeof value === 'string' && value !== '') return value.length > 200 ? `${value.slice(0, 200)}…` : value;
  }
  return undefined;
}
