import type { EntityManager } from 'typeorm';

type Queryable = Pick<EntityManager, 'query'>;

/**
 * The rows of an UPDATE/DELETE ... RETURNING through TypeORM, which answers those with
 * [rows, affectedCount] rather than the rows alone.
 */
export async function updateReturning<Row>(db: Queryable, sql: string, parameters: unknown[]): Promise<Row[]> {
  const result: unknown = await db.query(sql, parameters);
  const rows = result as unknown[];
  return (Array.isArray(rows[0]) ? rows[0] : rows) as Row[];
}
