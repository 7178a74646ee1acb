import { GraphQLError, Kind, type FragmentDefinitionNode, type SelectionSetNode, type ValidationContext, type ASTVisitor } from 'graphql';

/**
 * Introspection fields that return lists: each level of them multiplies the answer by the size
 * of the schema. GraphiQL's and codegen's introspection query nests three (types, fields, args).
 */
const LIST_FIELDS = new Set(['types', 'fields', 'inputFields', 'args', 'interfaces', 'possibleTypes', 'enumValues', 'directives']);

/**
 * The depth and cost limits leave introspection out (GraphiQL and codegen need it whole), so an
 * introspection document gets a limit of its own: at most `maxListNesting` list-valued
 * introspection fields inside one another, fragments followed. `__schema { types { fields {
 * type { fields { ... } } } } }` grows with every level; the standard introspection query stays
 * at three.
 */
export function introspectionBudgetRule(maxListNesting: number): (context: ValidationContext) => ASTVisitor {
  return (context) => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
    const deepest = (selectionSet: SelectionSetNode, inIntrospection: boolean, seen: ReadonlySet<string>): number => {
      let max = 0;
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.FIELD) {
          const name = selection.name.value;
          const introspection = inIntrospection || name === '__schema' || name === '__type';
          const here = introspection && LIST_FIELDS.has(name) ? 1 : 0;
          if (selection.selectionSet) max = Math.max(max, here + deepest(selection.selectionSet, introspection, seen));
          else max = Math.max(max, here);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          max = Math.max(max, deepest(selection.selectionSet, inIntrospection, seen));
        } else {
          const fragment = fragments.get(selection.name.value);
          if (!fragment || seen.has(fragment.name.value)) continue; // unknown or cyclic: other rules report it
          max = Math.max(max, deepest(fragment.selectionSet, inIntrospection, new Set([...seen, fragment.name.value])));
        }
      }
      return max;
    };
    return {
      OperationDefinition(operation) {
        const nesting = deepest(operation.selectionSet, false, new Set());
        if (nesting > maxListNesting) {
          context.reportError(
            new GraphQLError(`Introspection query is nested too deeply (${nesting} levels of list fields; at most ${maxListNesting})`, { nodes: [operation] }),
          );
        }
      },
    };
  };
}
