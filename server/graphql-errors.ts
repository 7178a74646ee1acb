import type { GraphQLError, GraphQLFormattedError } from 'graphql';
import { maskError } from './errors';
import { withoutSuggestions } from './protections';
import type { Logger } from './logger';

/** What error formatting knows of the request it runs in. */
export interface ErrorScope {
  requestId: string;
  log: Logger;
}

/**
 * Apollo's formatError has no access to the request, so over HTTP an INTERNAL error is
 * formatted with this placeholder and `fillRequestIds` puts the real id in before the
 * response is sent (graphql-ws passes its scope directly).
 */
const PENDING_REQUEST_ID = '<request id>';

/**
 * Apollo's formatError and graphql-ws's error hooks both end here: the domain error
 * mapping, INTERNAL masking with the request id, and (with a scope) the log line with the stack.
 */
export function formatErrorFor(maskSuggestions: boolean) {
  return (formatted: GraphQLFormattedError, thrown: unknown, scope?: ErrorScope): GraphQLFormattedError => {
    const masked = maskError(formatted, thrown, scope?.requestId ?? PENDING_REQUEST_ID);
    if (masked.unexpected !== undefined && scope) logUnexpected(scope, masked.unexpected, formatted.path);
    if (maskSuggestions) return { ...masked.formatted, message: withoutSuggestions(masked.formatted.message) };
    return masked.formatted;
  };
}

/** Log the errors of a request that the client will see as INTERNAL, with their stacks. */
export function logUnexpectedErrors(scope: ErrorScope, errors: readonly GraphQLError[]): void {
  for (const error of errors) {
    const masked = maskError(error.toJSON(), error, scope.requestId);
    if (masked.unexpected !== undefined) logUnexpected(scope, masked.unexpected, error.path);
  }
}

export function fillRequestIds(errors: readonly GraphQLFormattedError[] | undefined, requestId: string): GraphQLFormattedError[] | undefined {
  if (!errors?.some((error) => error.extensions?.code === 'INTERNAL')) return errors ? [...errors] : undefined;
  return errors.map((error) =>
    error.extensions?.code === 'INTERNAL'
      ? { ...error, message: error.message.replace(PENDING_REQUEST_ID, requestId), extensions: { ...error.extensions, requestId } }
      : error,
  );
}

function logUnexpected(scope: ErrorScope, error: unknown, path: GraphQLFormattedError['path']): void {
  scope.log.error({ err: error, requestId: scope.requestId, path }, 'unexpected error while handling a GraphQL request');
}
