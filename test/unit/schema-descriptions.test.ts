import { strict as assert } from 'node:assert';
import {
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  isSpecifiedScalarType,
  isUnionType,
  type GraphQLNamedType,
} from 'graphql';
import { buildSchema } from '../../server/schema';

/** Where a description is missing, as `Type`, `Type.field`, `Query.field(arg)` or `Enum.VALUE`. */
function missingDescriptions(type: GraphQLNamedType, rootTypes: ReadonlySet<string>): string[] {
  const missing: string[] = [];
  if (!type.description?.trim() && !rootTypes.has(type.name)) missing.push(type.name);
  if (isObjectType(type) || isInterfaceType(type)) {
    for (const field of Object.values(type.getFields())) {
      if (!field.description?.trim()) missing.push(`${type.name}.${field.name}`);
      if (!rootTypes.has(type.name)) continue;
      for (const arg of field.args) if (!arg.description?.trim()) missing.push(`${type.name}.${field.name}(${arg.name})`);
    }
  } else if (isInputObjectType(type)) {
    for (const field of Object.values(type.getFields())) if (!field.description?.trim()) missing.push(`${type.name}.${field.name}`);
  } else if (isEnumType(type)) {
    for (const value of type.getValues()) if (!value.description?.trim()) missing.push(`${type.name}.${value.name}`);
  } else if (isUnionType(type)) {
    // A union has no fields of its own: its description is enough.
  }
  return missing;
}

describe('the SDL documents itself', () => {
  it('has a description on every type, field, input field, enum value and root-field argument', () => {
    const schema = buildSchema();
    const roots = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].filter((type) => type !== null && type !== undefined);
    assert.equal(roots.length, 3, 'the schema has Query, Mutation and Subscription');
    const rootTypes = new Set(roots.map((type) => type.name));
    const ours = Object.values(schema.getTypeMap()).filter((type) => !isIntrospectionType(type) && !isSpecifiedScalarType(type));
    const missing = ours.flatMap((type) => missingDescriptions(type, rootTypes));
    assert.deepEqual(missing, [], `${missing.length} descriptions are missing in schema/*.graphql:\n  ${missing.join('\n  ')}`);
  });
});
