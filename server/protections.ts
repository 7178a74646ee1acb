import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { ApolloServerPlugin } from '@apollo/server';
import { DomainError } from './domain-error';
import { toGraphQLError } from './errors';
import { NoSchemaIntrospectionCustomRule, type ValidationRule } from 'graphql';
import type { ServerConfig } from './config';
import { introspectionBudgetRule } from './introspection-budget';
import { unusableLiteralsRule, unusableVariablesPlugin } from './unusable-strings';

/**
 * Query limits (graphql-armor) applied alike to HTTP (Apollo plugins + validation rules)
 * and WebSocket (the same validation rules, plus the token limit passed to parse()).
 * Introspection is ignored by the depth and cost limits so GraphiQL and codegen work; it has a
 * limit of its own (introspection-budget.ts) so it cannot be nested into a huge answer.
 */
export interface Protections {
  apolloPlugins: ApolloServerPlugin[];
  validationRules: ValidationRule[];
  maxTokens: number;
  /** Production hides "Did you mean ...?" hints that reveal the schema. */
  maskSuggestions: boolean;
}

/** The standard introspection query nests three list fields (types, fields, args); one spare. */
const MAX_INTROSPECTION_LIST_NESTING = 4;

export function createProtections(config: ServerConfig): Protections {
  const production = config.env === 'production';
  const armor = new ApolloArmor({
    maxDepth: {
      n: config.limits.maxDepth,
      ignoreIntrospection: true,
      flattenFragments: true,
      exposeLimits: false,
      errorMessage: `Query is nested too deeply (at most ${config.limits.maxDepth} levels)`,
    },
    maxAliases: { n: config.limits.maxAliases, exposeLimits: false, errorMessage: `Query uses too many aliases (at most ${config.limits.maxAliases})` },
    costLimit: {
      maxCost: config.limits.maxCost,
      ignoreIntrospection: true,
      exposeLimits: false,
      errorMessage: `Query is too expensive (cost limit ${config.limits.maxCost}): ask for fewer items (first is at most 100) or fewer nested fields`,
    },
    maxDirectives: {
      n: config.limits.maxDirectives,
      exposeLimits: false,
      errorMessage: `Query uses too many directives (at most ${config.limits.maxDirectives})`,
    },
    // The token limit is a parser option (Apollo's parseOptions, graphql-ws's parse call): armor's plugin turns it into a 500.
    maxTokens: { enabled: false },
    blockFieldSuggestion: { enabled: production },
  });
  const { plugins, validationRules } = armor.protect();
  return {
    apolloPlugins: [...plugins, unusableVariablesPlugin, subscriptionsOverWebSocket],
    validationRules: [
      ...validationRules,
      unusableLiteralsRule,
      config.introspection ? introspectionBudgetRule(MAX_INTROSPECTION_LIST_NESTING) : NoSchemaIntrospectionCustomRule,
    ],
    maxTokens: config.limits.maxTokens,
    maskSuggestions: production,
  };
}

export function withoutSuggestions(message: string): string {
  return message.replace(/\s*Did you mean .*\?$/, '');
}

/** A subscription sent over HTTP is the client's mistake: say where subscriptions run. */
const subscriptionsOverWebSocket: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operation }) {
        if (operation?.operation !== 'subscription') return;
        throw toGraphQLError(
          new DomainError('BAD_USER_INPUT', 'subscriptions run over WebSocket: connect a graphql-ws client to ws://<this host>/graphql (the same path)'),
        );
      },
    };
  },
};
