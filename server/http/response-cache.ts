// Whole-response cache for anonymous queries over public data (the catalog): a hit answers
// from memory without entering Apollo's request pipeline.
import type { IncomingHttpHeaders } from 'node:http';
import { LRUCache } from 'lru-cache';
import { Kind, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import type { Notifications } from '../db/notifications';

/** The SDL directive that makes a Query field cacheable (schema/base.graphql). */
export const PUBLIC_CACHE_DIRECTIVE = 'publicCache';

export interface CachedResponse {
  status: number;
  headers: [string, string][];
  body: string;
  operationName: string | null;
}

/** Bodies larger than this are not worth a cache key (the catalog's queries are a few hundred bytes). */
const MAX_KEY_BYTES = 8 * 1024;
const MAX_CACHED_BYTES = 16 * 2 ** 20;

/**
 * Per-process cache of serialized responses, keyed by the exact request body. Only requests
 * without an API key (every anonymous caller gets the same answer) whose operation selects
 * nothing but `@publicCache` root fields are stored, for the smallest maxAgeSeconds among
 * them; `clear()` runs when any process announces a change to the data they read.
 */
export class ResponseCache {
  private readonly entries = new LRUCache<string, CachedResponse>({
    max: 1000,
    maxSize: MAX_CACHED_BYTES,
    sizeCalculation: (entry, key) => key.length + entry.body.length + 64,
    // A cap; each entry carries its own, shorter time to live.
    ttl: 60_000,
  });

  /** Bumped by every clear(), so an answer computed from data older than the last change is not stored. */
  private generationCounter = 0;

  /** Seconds each cacheable Query field may be cached, from its `@publicCache` directive. */
  private readonly maxAgeByField: ReadonlyMap<string, number>;

  constructor(schema: GraphQLSchema) {
    this.maxAgeByField = publicCacheFields(schema);
  }

  /**
   * The cache key for a request, or undefined when its answer must not come from (or go to)
   * the cache: only POST bodies sent as exactly `application/json` (what passes Apollo's CSRF
   * prevention) by callers with no Authorization header.
   */
  keyOf(request: { method?: string; headers: IncomingHttpHeaders }, body: string): string | undefined {
    const { headers } = request;
    if (request.method !== 'POST' || headers.authorization !== undefined || body.length > MAX_KEY_BYTES) return undefined;
    const essence = (headers['content-type'] ?? '').split(';', 1)[0].trim().toLowerCase();
    return essence === 'application/json' ? body : undefined;
  }

  get(key: string): CachedResponse | undefined {
    return this.entries.get(key);
  }

  /** Read before computing an answer; hand it to set() with that answer. */
  get generation(): number {
    return this.generationCounter;
  }

  set(key: string, response: CachedResponse, maxAgeSeconds: number, generation: number): void {
    if (generation !== this.generationCounter) return;
    this.entries.set(key, response, { ttl: maxAgeSeconds * 1000 });
  }

  clear(): void {
    this.generationCounter += 1;
    this.entries.clear();
  }

  /**
   * Clears the cache whenever one of `channels` is notified (by any process), and after the
   * listener reconnects (notifications may have been missed). Resolves with the stop function.
   */
  async clearOn(notifications: Notifications, channels: string[]): Promise<() => Promise<void>> {
    const stops = await Promise.all(channels.map((channel) => notifications.listen(channel, () => this.clear())));
    notifications.onReconnect(() => this.clear());
    return async () => {
      await Promise.all(stops.map((stop) => stop()));
    };
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * How long the answer to `operation` may be cached: the smallest maxAgeSeconds of its root
   * fields, or undefined when it is not a query or selects anything not marked `@publicCache`
   * (fragments at the root included, to keep the rule simple).
   */
  maxAgeOf(operation: OperationDefinitionNode): number | undefined {
    if (operation.operation !== 'query') return undefined;
    let maxAge = Number.POSITIVE_INFINITY;
    for (const selection of operation.selectionSet.selections) {
      if (selection.kind !== Kind.FIELD) return undefined;
      if (selection.name.value === '__typename') continue;
      const seconds = this.maxAgeByField.get(selection.name.value);
      if (seconds === undefined) return undefined;
      maxAge = Math.min(maxAge, seconds);
    }
    return Number.isFinite(maxAge) && maxAge > 0 ? maxAge : undefined;
  }
}

function publicCacheFields(schema: GraphQLSchema): Map<string, number> {
  const fields = new Map<string, number>();
  for (const field of Object.values(schema.getQueryType()?.getFields() ?? {})) {
    const directive = field.astNode?.directives?.find((d) => d.name.value === PUBLIC_CACHE_DIRECTIVE);
    const argument = directive?.arguments?.find((a) => a.name.value === 'maxAgeSeconds');
    if (argument?.value.kind === Kind.INT) fields.set(field.name, Number(argument.value.value));
  }
  return fields;
}
