import type { DataSource } from 'typeorm';

/** The part of a `pg` Pool that rate-limiter-flexible's Postgres store calls. */
export interface StoreQueryable {
  query(statement: { text: string; values?: unknown[] }): Promise<{ rows: Record<string, unknown>[]; rowCount: number }>;
}

/**
 * Lets rate-limiter-flexible run its statements through our data source, so the same counters
 * work on PostgreSQL and on the embedded PGlite (whose one session the data source serializes).
 * The statement names the library gives (for prepared statements) are not needed here.
 */
export function sqlStoreClient(dataSource: DataSource): StoreQueryable {
  return {
    async query({ text, values }) {
      const runner = dataSource.createQueryRunner();
      try {
        const result = await runner.query(text, values, true);
        const rows = (result.records ?? []) as Record<string, unknown>[];
        return { rows, rowCount: result.affected ?? rows.length };
      } finally {
        await runner.release();
      }
    },
  };
}
