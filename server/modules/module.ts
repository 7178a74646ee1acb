import type { Resolvers } from '../../generated/server-types';
import type { ServerConfig } from '../config';
import type { Database } from '../db/database';
import type { Logger } from '../logger';
import type { ComputeProvider, ProviderName } from '../providers/provider';
import type { Storage, StoredFile } from '../storage';
import type { ClusterSchedule } from '../jobs';
import type { GraphQLContext, Loaders, Services } from '../context';

/**
 * The module contract. A domain is one `MarketplaceModule` exported by
 * `server/modules/<domain>/index.ts` and listed once in `server/modules/index.ts`; the schema,
 * the data source's entities, `node(id)`, the request context and the app's lifecycle are all
 * built by iterating that list.
 */
export interface MarketplaceModule {
  name: string;
  resolvers: Resolvers;
  /** TypeORM entity classes (the data source gets them from here; migrations stay in server/db). */
  entities: readonly (new () => object)[];
  /** The id prefixes this module owns (`ven` in `ven_...`) and how `node(id)` finds each type. */
  nodes?: Readonly<Record<string, NodeType>>;
  /** Build the module's services from the platform and the services of the modules listed before it. */
  create(platform: Platform, services: Services): ModuleRuntime | Promise<ModuleRuntime>;
  /** Demo data for an empty database (embedded start, tests); says what it added, or null. */
  seed?(database: Database, config: ServerConfig): Promise<string | null>;
}

export interface NodeType {
  /** The GraphQL object type for ids with this prefix. */
  typename: string;
  /** The object, or null when it does not exist or the caller may not see it. */
  load(id: string, context: GraphQLContext): Promise<unknown> | unknown;
}

/** What the app hands every module. */
export interface Platform {
  config: ServerConfig;
  database: Database;
  storage: Storage;
  providers: Map<ProviderName, ComputeProvider>;
  log: Logger;
  /** Register periodic work that must run once per period across all processes (while serving). */
  schedule: ClusterSchedule;
  /** Where other machines reach this process: MP_PUBLIC_URL, else the listening URL (known once listening). */
  publicBaseUrl(): string;
}

/** A module once built: its services and what the app calls on it. Every hook is optional. */
export interface ModuleRuntime {
  services: Partial<Services>;
  loaders?(): Partial<Loaders>;
  /** The file stored under a blob key, when this module owns it (the signed download route asks). */
  storedFile?(blobKey: string): Promise<StoredFile | null>;
  /** Whether a signed upload into `scope` (such as `runs/<id>`) may be stored now. */
  acceptsUpload?(scope: string): Promise<boolean>;
  /** Notification channels whose messages make the cached public answers stale. */
  publicCacheChannels?: readonly string[];
  /** Before the first request: LISTEN channels, caches. */
  start?(): Promise<void>;
  /** Once the server listens and its URL is known: background workers. */
  startWorkers?(): Promise<void>;
  /** First on close, while requests still finish: background workers. */
  stopWorkers?(): Promise<void>;
  /** Last on close, after the server closed: listeners. */
  stop?(): Promise<void>;
}
