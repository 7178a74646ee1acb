import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { PGlite } from '@electric-sql/pglite';
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
import { loadConfig, type ServerConfig } from '../../server/config';
import { openDatabase, type Database } from '../../server/db/database';
import { seedModules } from '../../server/bootstrap';
import { entities } from '../../server/modules';
import { createLogger } from '../../server/logger';
import { createApp, type App } from '../../server/app';

/**
 * A real server on port 0 with a database of its own: a copy of a migrated, seeded
 * PGlite (made once per test process) or, with DATABASE_URL set, a fresh PostgreSQL
 * database created from it and dropped on close.
 */
export interface TestServer {
  url: string;
  graphqlUrl: string;
  wsUrl: string;
  adminKey: string;
  app: App;
  database: Database;
  /** The PostgreSQL database's URL (absent on the embedded database). */
  databaseUrl: string | undefined;
  config: ServerConfig;
  /** With `captureLogs`, every log line so far; otherwise empty. */
  logLines: Record<string, unknown>[];
  createVendor(displayName?: string): Promise<{ vendorId: string; handle: string; apiKey: string }>;
  graphql: GraphQLCall;
  close(): Promise<void>;
}

/**
 * A document codegen emitted in string mode (`TypedDocumentString` of generated/test-operations.ts
 * or generated/cli-operations.ts): its text (toString) with its result and variables types.
 */
export type TypedDocument<TResult, TVariables> = DocumentTypeDecoration<TResult, TVariables> & { toString(): string };

/**
 * `server.graphql(document, variables, key)`: a typed document infers the result and variables
 * types; a plain string (with a hand-given result type) is for the tests whose document itself
 * is under test: malformed, over a limit, introspection and the like.
 */
export interface GraphQLCall {
  <T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, key?: string): Promise<GraphQLResponse<T>>;
  <TResult, TVariables>(document: TypedDocument<TResult, TVariables>, variables?: TVariables, key?: string): Promise<GraphQLResponse<TResult>>;
}

export interface GraphQLResponse<T> {
  status: number;
  data?: T;
  errors?: { message: string; path?: string[]; extensions?: Record<string, unknown> & { code?: string } }[];
}

export const usingPostgres = Boolean(process.env.DATABASE_URL);

/**
 * One data directory per test process (blobs, signing secret), shared by every test
 * server: the seeded round's files are written once and every database copy points at them.
 */
export const TEST_DATA_DIR = path.join(tmpdir(), `mp-test-${process.pid}`);
process.once('exit', () => rmSync(TEST_DATA_DIR, { recursive: true, force: true }));

async function seed(database: Database): Promise<void> {
  await seedModules(database, loadConfig({ NODE_ENV: 'test', MP_DATA_DIR: TEST_DATA_DIR }));
}

let embeddedTemplate: Promise<Blob> | undefined;

/** Migrate and seed one in-memory PGlite, then dump it: every test server loads a copy (about 0.5 s instead of 3.5 s). */
function embeddedTemplateDump(): Promise<Blob> {
  embeddedTemplate ??= (async () => {
    const database = await openDatabase({ kind: 'embedded', dataDir: 'memory://', entities });
    await database.migrate();
    await seed(database);
    const pglite = (database.dataSource.driver as unknown as { master: { db: PGlite } }).master.db;
    const dump = (await pglite.dumpDataDir('none')) as Blob;
    await database.close();
    return dump;
  })();
  return embeddedTemplate;
}

/**
 * Builds the embedded template now (the root hook calls it before the first test), so that its
 * cost, several seconds, more on a busy machine, never lands in one test file's `before`.
 */
export async function warmEmbeddedTemplate(): Promise<void> {
  if (!usingPostgres) await embeddedTemplateDump();
}

/** A fresh PostgreSQL database on the server DATABASE_URL points at; returns its URL and a function that drops it. */
export async function createPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = new URL(process.env.DATABASE_URL ?? '');
  const name = `mp_test_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: base.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base.toString());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new Client({ connectionString: base.toString() });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** A migrated, seeded database of the kind this run tests (embedded or PostgreSQL). */
export async function openTestDatabase(): Promise<{ database: Database; url?: string; drop: () => Promise<void> }> {
  if (usingPostgres) {
    const created = await createPostgresDatabase();
    const database = await openDatabase({ kind: 'postgres', url: created.url, poolSize: 10, entities });
    await database.migrate();
    await seed(database);
    return { database, url: created.url, drop: created.drop };
  }
  const database = await openDatabase({ kind: 'embedded', dataDir: 'memory://', loadDataDir: await embeddedTemplateDump(), entities });
  return { database, drop: async () => undefined };
}

export interface TestServerOptions {
  /** Keep every log line (parsed JSON, at MP_LOG_LEVEL or debug) in `server.logLines`. */
  captureLogs?: boolean;
}

export async function startTestServer(env: Record<string, string> = {}, options: TestServerOptions = {}): Promise<TestServer> {
  const { database, url: databaseUrl, drop } = await openTestDatabase();
  return serve(database, databaseUrl, env, drop, options);
}

/** Another server process, as far as the database can tell, on the same PostgreSQL database as `peer`. */
export async function startPeerServer(peer: TestServer, env: Record<string, string> = {}): Promise<TestServer> {
  if (!peer.databaseUrl) throw new Error('a peer server needs PostgreSQL (DATABASE_URL)');
  const database = await openDatabase({ kind: 'postgres', url: peer.databaseUrl, poolSize: 10, entities });
  return serve(database, peer.databaseUrl, env, async () => undefined);
}

async function serve(
  database: Database,
  databaseUrl: string | undefined,
  env: Record<string, string>,
  drop: () => Promise<void>,
  options: TestServerOptions = {},
): Promise<TestServer> {
  const logLines: Record<string, unknown>[] = [];
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    MP_LOG_LEVEL: options.captureLogs ? 'debug' : 'silent',
    MP_DATA_DIR: TEST_DATA_DIR,
    ...env,
  });
  const log = options.captureLogs
    ? createLogger(config.logLevel, { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) })
    : createLogger(process.env.MP_TEST_LOG ?? config.logLevel);
  const app = await createApp(config, database, log);
  const url = await app.listen();
  const admin = await app.services.identity.createAdminKey('test operator');
  const graphqlUrl = `${url}/graphql`;

  return {
    url,
    graphqlUrl,
    wsUrl: graphqlUrl.replace(/^http/, 'ws'),
    adminKey: admin.secret,
    app,
    database,
    databaseUrl,
    config,
    logLines,
    async createVendor(displayName = `Vendor ${randomBytes(3).toString('hex')}`) {
      const created = await app.services.identity.createVendor({ displayName, email: 'vendor@example.com' });
      return { vendorId: created.vendor.id, handle: created.vendor.handle, apiKey: created.secret };
    },
    graphql: ((query: string | TypedDocument<unknown, never>, variables?: unknown, key?: string) => send(graphqlUrl, query, variables, key)) as GraphQLCall,
    async close() {
      await app.close();
      await database.close();
      await drop();
    },
  };
}

/** POST one operation to `graphqlUrl`: a typed document (result and variables inferred) or a string, as server.graphql. */
export function postGraphQL<T>(graphqlUrl: string, query: string, variables?: Record<string, unknown>, key?: string): Promise<GraphQLResponse<T>>;
export function postGraphQL<TResult, TVariables>(
  graphqlUrl: string,
  document: TypedDocument<TResult, TVariables>,
  variables?: TVariables,
  key?: string,
): Promise<GraphQLResponse<TResult>>;
export function postGraphQL(
  graphqlUrl: string,
  query: string | TypedDocument<unknown, never>,
  variables?: unknown,
  key?: string,
): Promise<GraphQLResponse<unknown>> {
  return send(graphqlUrl, query, variables, key);
}

async function send<T>(
  graphqlUrl: string,
  query: string | TypedDocument<unknown, never>,
  variables: unknown,
  key: string | undefined,
): Promise<GraphQLResponse<T>> {
  const response = await fetch(graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query: query.toString(), variables }),
  });
  const body = (await response.json()) as Omit<GraphQLResponse<T>, 'status'>;
  return { status: response.status, ...body };
}
