import type { Resolvers } from '../../generated/server-types';
import { idPrefixOf } from '../db/ids';
import type { MarketplaceModule, NodeType } from './module';

/**
 * `Node.__resolveType` and `Query.node` for every module's id prefixes: the prefix of an id
 * names its type, and the owning module loads it for the caller (null when it is not theirs).
 */
export function nodeResolvers(modules: readonly MarketplaceModule[]): Resolvers {
  const byPrefix = new Map<string, NodeType>();
  for (const module of modules) {
    for (const [prefix, type] of Object.entries(module.nodes ?? {})) {
      if (byPrefix.has(prefix)) throw new Error(`id prefix ${prefix} is claimed twice (by ${module.name} and another module)`);
      byPrefix.set(prefix, type);
    }
  }
  const typeOf = (id: string) => byPrefix.get(idPrefixOf(id) ?? '');
  return {
    Node: {
      __resolveType: (node) => {
        const type = typeOf(node.id);
        if (!type) throw new Error(`no module owns the id prefix of ${node.id}`);
        return type.typename as never;
      },
    },
    Query: {
      node: async (_parent, { id }, context) => ((await typeOf(id)?.load(id, context)) ?? null) as never,
    },
  };
}
