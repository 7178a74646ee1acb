/**
 * What services throw when a request cannot be served: a code from the API's fixed list, a
 * message for the user, and details (the bad fields, a retry delay). It knows no transport:
 * `server/errors.ts` maps it to a GraphQL error at the edge, the HTTP routes to a status.
 */

/** The error codes a client can see in `extensions.code`. */
export type ErrorCode = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'BAD_USER_INPUT' | 'CONFLICT' | 'RATE_LIMITED' | 'PRECONDITION_FAILED' | 'INTERNAL';

export interface FieldProblem {
  field: string;
  message: string;
}

export interface ErrorDetails {
  fields?: FieldProblem[];
  retryAfter?: number;
}

export class DomainError extends Error {
  constructor(
    readonly code: Exclude<ErrorCode, 'INTERNAL'>,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export function badInput(field: string, message: string): DomainError {
  return new DomainError('BAD_USER_INPUT', `${field}: ${message}`, { fields: [{ field, message }] });
}
