import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GraphQLSchema } from 'graphql';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { Resolvers } from '../generated/server-types';
import { packageRoot } from './paths';
import { baseResolvers } from './modules/base/resolvers';
import { identityResolvers } from './modules/identity/resolvers';
import { catalogResolvers } from './modules/catalog/resolvers';
import { datasetsResolvers } from './modules/datasets/resolvers';
import { trainingResolvers } from './modules/training/resolvers';

/** The SDL files under schema/, the only place our types are declared. */
export function loadTypeDefs(): string[] {
  const dir = join(packageRoot(), 'schema');
  return readdirSync(dir)
    .filter((file) => file.endsWith('.graphql'))
    .sort()
    .map((file) => readFileSync(join(dir, file), 'utf8'));
}

export const resolvers: Resolvers[] = [baseResolvers, identityResolvers, catalogResolvers, datasetsResolvers, trainingResolvers];

export function buildSchema(): GraphQLSchema {
  return makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers, inheritResolversFromInterfaces: true });
}
