import type { GraphQLFormattedError } from 'graphql';
import { maskError } from './errors';
import { withoutSuggestions } from './protections';
import { requestScope } from './request-scope';

/**
 * Apollo's formatError and graphql-ws's error hooks both end here: the domain error
 * mapping, INTERNAL masking with the request id, and the log line with the stack.
 */
export function formatErrorFor(maskSuggestions: boolean) {
  return (formatted: GraphQLFormattedError, thrown: unknown, scope = requestScope.getStore()): GraphQLFormattedError => {
    const requestId = scope?.requestId ?? 'unknown';
    const masked = maskError(formatted, thrown, requestId);
    if (masked.unexpected !== undefined) {
      scope?.log.error({ err: masked.unexpected, requestId, path: formatted.path }, 'unexpected error while handling a GraphQL request');
    }
    if (maskSuggestions) return { ...masked.formatted, message: withoutSuggestions(masked.formatted.message) };
    return masked.formatted;
  };
}
