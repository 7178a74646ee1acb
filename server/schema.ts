import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isScalarType, type GraphQLSchema } from 'graphql';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { packageRoot } from './paths';
import { modules } from './modules';
import { nodeResolvers } from './modules/node';

/** The SDL files under schema/, the only place our types are declared. */
export function loadTypeDefs(): string[] {
  const dir = join(packageRoot(), 'schema');
  return readdirSync(dir)
    .filter((file) => file.endsWith('.graphql'))
    .sort()
    .map((file) => readFileSync(join(dir, file), 'utf8'));
}

export function buildSchema(): GraphQLSchema {
  const resolvers = [...modules.map((module) => module.resolvers), nodeResolvers(modules)];
  const schema = makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers, inheritResolversFromInterfaces: true });
  keepSdlScalarDescriptions(schema);
  return schema;
}

/** A scalar's resolver (graphql-scalars', ours) replaces its description, even with none: the SDL's is the one to publish. */
function keepSdlScalarDescriptions(schema: GraphQLSchema): void {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isScalarType(type)) continue;
    const sdl = type.astNode?.description?.value;
    if (sdl) type.description = sdl;
  }
}
