import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GraphQLSchema } from 'graphql';
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
  return makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers, inheritResolversFromInterfaces: true });
}
