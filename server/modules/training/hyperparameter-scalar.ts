import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';

type Value = string | number | boolean;

function check(value: unknown): Value {
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw new GraphQLError(`a hyperparameter value is a number, a boolean or a string (got ${JSON.stringify(value)})`);
}

/** HyperparameterValue: a number, a boolean or a string, kept as given. */
export const HyperparameterValueScalar = new GraphQLScalarType<Value, Value>({
  name: 'HyperparameterValue',
  serialize: check,
  parseValue: check,
  parseLiteral(ast) {
    switch (ast.kind) {
      case Kind.STRING:
      case Kind.BOOLEAN:
        return ast.value;
      case Kind.INT:
      case Kind.FLOAT:
        return Number(ast.value);
      default:
        throw new GraphQLError('a hyperparameter value is a number, a boolean or a string');
    }
  },
});
