import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { DomainError, type ErrorCode } from './domain-error';

const HTTP_STATUS: Record<ErrorCode, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  BAD_USER_INPUT: 400,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  PRECONDITION_FAILED: 412,
  INTERNAL: 500,
};

/** For errors raised before execution (authentication in the context function). */
export function toGraphQLError(error: DomainError): GraphQLError {
  return new GraphQLError(error.message, {
    extensions: { code: error.code, ...error.details, http: { status: HTTP_STATUS[error.code] } },
  });
}

/** graphql-js and Apollo codes for a request the client got wrong, all reported as BAD_USER_INPUT. */
const CLIENT_MISTAKES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'PERSISTED_QUERY_NOT_FOUND',
]);

const OUR_CODES = new Set<string>(Object.keys(HTTP_STATUS));

export interface MaskedError {
  formatted: GraphQLFormattedError;
  /** The unexpected error to log with its stack, when the client got a masked INTERNAL. */
  unexpected?: unknown;
}

/**
 * One switch from whatever was thrown to what the client sees. Unexpected errors
 * become INTERNAL with the request id and no detail; the caller logs the original.
 */
export function maskError(formatted: GraphQLFormattedError, thrown: unknown, requestId: string): MaskedError {
  const original = unwrapResolverError(thrown);
  const location = { locations: formatted.locations, path: formatted.path };

  if (original instanceof DomainError) {
    return { formatted: { message: original.message, ...location, extensions: { code: original.code, ...original.details } } };
  }

  const code = typeof formatted.extensions?.code === 'string' ? formatted.extensions.code : undefined;
  if (code && OUR_CODES.has(code) && code !== 'INTERNAL') {
    const { http: _http, stacktrace: _stack, exception: _exception, ...extensions } = formatted.extensions ?? {};
    return { formatted: { message: withoutArmorPrefix(formatted.message), ...location, extensions } };
  }
  if (code && CLIENT_MISTAKES.has(code)) {
    return { formatted: { message: withoutArmorPrefix(formatted.message), ...location, extensions: { code: 'BAD_USER_INPUT', reason: code } } };
  }
  // graphql-js validation errors (and armor's limits) carry no code when they come from a validation rule.
  if (!code && thrown instanceof GraphQLError && !thrown.originalError && !formatted.path) {
    return { formatted: { message: withoutArmorPrefix(formatted.message), ...location, extensions: { code: 'BAD_USER_INPUT' } } };
  }
  return {
    formatted: {
      message: `Internal server error (request id ${requestId}). The error was logged; quote the request id when you report it.`,
      ...location,
      extensions: { code: 'INTERNAL', requestId },
    },
    unexpected: original,
  };
}

/** graphql-armor words its limit errors "Syntax Error: Query ..." although they are validation errors. */
function withoutArmorPrefix(message: string): string {
  return message.replace(/^Syntax Error: (?=Query )/, '');
}
