import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import type { DatabaseConfig } from '../config';
import { dataSourceOptions } from '../../ormconfig';
import { PG_COMPATIBLE_PARSERS, PglitePool, pgDriverFor } from './pglite-pool';
import { createNotifications, type Notifications } from './notifications';
import { QueryCounter } from './query-counter';

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

/** The open database: TypeORM, cross-process notifications, and what /metrics reports. */
export interface Database {
  kind: 'embedded' | 'postgres';
  dataSource: DataSource;
  notifications: Notifications;
  poolStats(): PoolStats;
  /** Statements run so far through TypeORM (for tests that check batching). */
  queryCount(): number;
  pendingMigrations(): Promise<string[]>;
  migrate(): Promise<string[]>;
  close(): Promise<void>;
}

export type OpenDatabaseOptions = DatabaseConfig & {
  /** The TypeORM entities: every module's (`entities` from server/modules). */
  entities: readonly (new () => object)[];
  /** Embedded only: start from this PGlite data directory dump (tests copy a migrated one). */
  loadDataDir?: Blob;
};

export class DatabaseUnreachableError extends Error {}

export async function openDatabase(config: OpenDatabaseOptions): Promise<Database> {
  if (config.kind === 'embedded') return openEmbedded(config.dataDir, config.entities, config.loadDataDir);
  return openPostgres(config.url, config.poolSize, config.entities);
}

async function openEmbedded(dataDir: string, entities: OpenDatabaseOptions['entities'], loadDataDir?: Blob): Promise<Database> {
  if (!dataDir.startsWith('memory://')) await mkdir(dataDir, { recursive: true });
  const pglite = await PGlite.create({ dataDir, loadDataDir, parsers: PG_COMPATIBLE_PARSERS });
  const pool = new PglitePool(pglite);
  const counter = new QueryCounter();
  const dataSource = new DataSource(dataSourceOptions({ driver: pgDriverFor(pool), logger: counter, entities }));
  await dataSource.initialize();
  const notifications = createNotifications({ kind: 'embedded', pool });
  return assemble('embedded', dataSource, counter, notifications, async () => {
    await pool.end();
    await pglite.close();
  });
}

async function openPostgres(url: string, poolSize: number, entities: OpenDatabaseOptions['entities']): Promise<Database> {
  const counter = new QueryCounter();
  const dataSource = new DataSource(dataSourceOptions({ url, poolSize, logger: counter, entities }));
  try {
    await dataSource.initialize();
  } catch (error) {
    throw new DatabaseUnreachableError(`cannot reach PostgreSQL at ${redactUrl(url)}: ${(error as Error).message}`);
  }
  const notifications = createNotifications({ kind: 'postgres', url });
  return assemble('postgres', dataSource, counter, notifications, async () => undefined);
}

function assemble(
  kind: Database['kind'],
  dataSource: DataSource,
  counter: QueryCounter,
  notifications: Notifications,
  closeEngine: () => Promise<void>,
): Database {
  let closed = false;
  return {
    kind,
    dataSource,
    notifications,
    queryCount: () => counter.count,
    poolStats() {
      const pool = (dataSource.driver as PostgresDriver).master as { totalCount: number; idleCount: number; waitingCount: number };
      return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
    },
    async pendingMigrations() {
      const applied = new Set<string>();
      const hasTable = await dataSource.query(`SELECT to_regclass('migrations') IS NOT NULL AS present`);
      if (hasTable[0].present) {
        for (const row of await dataSource.query(`SELECT name FROM migrations`)) applied.add(row.name);
      }
      return dataSource.migrations.map((migration) => migration.name ?? migration.constructor.name).filter((name) => !applied.has(name));
    },
    async migrate() {
      const ran = await dataSource.runMigrations({ transaction: 'each' });
      return ran.map((migration) => migration.name);
    },
    async close() {
      if (closed) return;
      closed = true;
      await notifications.close();
      if (dataSource.isInitialized) await dataSource.destroy();
      await closeEngine();
    },
  };
}

/** A database URL with its password hidden, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable DATABASE_URL)';
  }
}
