import { GraphQLError, Kind, type ASTVisitor, type ValidationContext } from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import { DomainError, type FieldProblem } from './domain-error';
import { toGraphQLError } from './errors';
import { unusableTextProblem } from './db/unusable-text';

/**
 * Text PostgreSQL cannot store or compare (db/unusable-text.ts), found in a variable or a string
 * literal: the request is refused as BAD_USER_INPUT naming where, before any resolver runs,
 * instead of failing deep in the database as INTERNAL.
 */
const problemWith = unusableTextProblem;

/** Every string in `value` that cannot be stored, with its path (`input.name`, `spec.hyperparameters.0.value`). */
export function unusableStrings(value: unknown, path: string, found: FieldProblem[] = []): FieldProblem[] {
  if (typeof value === 'string') {
    const problem = problemWith(value);
    if (problem) found.push({ field: path, message: problem });
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => unusableStrings(item, `${path}.${index}`, found));
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) unusableStrings(item, path ? `${path}.${key}` : key, found);
  }
  return found;
}

/** The refusal for unusable strings in a request's variables, or null when there are none. */
export function refuseUnusableVariables(variables: unknown): DomainError | null {
  const problems = unusableStrings(variables ?? {}, '');
  if (problems.length === 0) return null;
  return new DomainError('BAD_USER_INPUT', problems.map((problem) => `${problem.field}: ${problem.message}`).join('; '), { fields: problems });
}

/** The same check for string literals written into the document. */
export function unusableLiteralsRule(context: ValidationContext): ASTVisitor {
  return {
    StringValue(node, _key, parent, _path, ancestors) {
      const problem = problemWith(node.value);
      if (!problem) return;
      const argument = [...ancestors, parent]
        .reverse()
        .find((ancestor) => !Array.isArray(ancestor) && (ancestor as { kind?: string }).kind === Kind.ARGUMENT) as { name: { value: string } } | undefined;
      context.reportError(new GraphQLError(`${argument ? `argument ${argument.name.value}` : 'a string'} ${problem}`, { nodes: [node] }));
    },
  };
}

/** Apollo's side of the variables check (graphql-ws calls refuseUnusableVariables itself). */
export const unusableVariablesPlugin: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async didResolveOperation({ request }) {
        const refusal = refuseUnusableVariables(request.variables);
        if (refusal) throw toGraphQLError(refusal);
      },
    };
  },
};
