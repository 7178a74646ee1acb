import type { CombinedError } from '@urql/core';

/** The code of the first GraphQL error (UNAUTHENTICATED, NOT_FOUND, ...), if any. */
export function errorCode(error: CombinedError | undefined): string | undefined {
  const code = error?.graphQLErrors[0]?.extensions?.code;
  return typeof code === 'string' ? code : undefined;
}

/** One sentence for the page: the server's own message (already a sentence with what to do), never a stack or JSON. */
export function errorSentence(error: CombinedError): string {
  const first = error.graphQLErrors[0];
  if (first?.message) return sentence(first.message);
  return 'The server cannot be reached: check your connection, then reload the page.';
}

function sentence(text: string): string {
  const line = text.split('\n')[0].trim();
  const capital = line.charAt(0).toUpperCase() + line.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** The server's BAD_USER_INPUT problems by field (`spec.maxBudgetUsd` -> "must be ..."), from extensions.fields. */
export function fieldErrors(error: CombinedError | undefined): Map<string, string> {
  const problems = new Map<string, string>();
  for (const graphQLError of error?.graphQLErrors ?? []) {
    const fields = graphQLError.extensions?.fields;
    if (!Array.isArray(fields)) continue;
    for (const problem of fields as { field?: unknown; message?: unknown }[]) {
      if (typeof problem.field === 'string' && typeof problem.message === 'string') problems.set(problem.field, problem.message);
    }
  }
  return problems;
}
