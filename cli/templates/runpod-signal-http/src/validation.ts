/**
 * Checks a request body against the contract: the zod validators generated from
 * schema/contracts.graphql (contract.generated.ts), plus the one rule of the contract they do
 * not express, stated in its prose: a symbol is letters, digits, `.` and `-`. Every problem is
 * reported at once, each with its path.
 */
import type { z } from 'zod';
import { SignalInferenceBatchRequestSchema, SignalInferenceRequestSchema } from './contract.generated';
import type { SignalInferenceBatchRequest, SignalInferenceRequest } from './contract.generated';
import type { FieldError } from './http/respond';

export type Checked<T> = { ok: true; value: T } | { ok: false; fields: FieldError[] };

const SYMBOL = /^[A-Za-z0-9.-]+$/;

function pathOf(path: ReadonlyArray<PropertyKey>): string {
  return path.length === 0 ? 'body' : path.map(String).join('.');
}

function zodFields(issues: ReadonlyArray<z.core.$ZodIssue>): FieldError[] {
  return issues.map((issue) => ({
    path: pathOf(issue.path),
    // With reportInput every issue carries the value it is about; JSON has no undefined, so undefined is absent.
    message: issue.code === 'invalid_type' && issue.input === undefined ? `is required (${issue.expected})` : issue.message,
  }));
}

/** The rule beyond the generated validators, on the raw body, so that it is reported along with its other problems. */
function contractRules(request: unknown, prefix: string): FieldError[] {
  if (typeof request !== 'object' || request === null) return [];
  const { symbol } = request as Record<string, unknown>;
  if (typeof symbol === 'string' && symbol !== '' && !SYMBOL.test(symbol))
    return [{ path: `${prefix}symbol`, message: 'may hold only letters, digits, . and -' }];
  return [];
}

function check<T>(schema: z.ZodType, body: unknown, rules: FieldError[]): Checked<T> {
  const parsed = schema.safeParse(body, { reportInput: true });
  const fields = [...(parsed.success ? [] : zodFields(parsed.error.issues)), ...rules];
  return fields.length > 0 || !parsed.success ? { ok: false, fields } : { ok: true, value: parsed.data as T };
}

export function checkSignalRequest(body: unknown): Checked<SignalInferenceRequest> {
  return check(SignalInferenceRequestSchema, body, contractRules(body, ''));
}

export function checkSignalBatch(body: unknown): Checked<SignalInferenceBatchRequest> {
  const requests = typeof body === 'object' && body !== null ? (body as { requests?: unknown }).requests : undefined;
  const rules = Array.isArray(requests) ? requests.flatMap((request, i) => contractRules(request, `requests.${i}.`)) : [];
  return check(SignalInferenceBatchRequestSchema, body, rules);
}
