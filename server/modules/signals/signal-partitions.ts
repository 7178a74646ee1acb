import type { DataSource } from 'typeorm';
import type { Logger } from '../../logger';

/** Months ahead of the current one that get their partition before any signal needs it. */
const MONTHS_AHEAD = 2;

function monthStart(year: number, month: number): Date {
  return new Date(Date.UTC(year, month, 1));
}

/**
 * Creates the monthly partitions of `signals` for this month and the next MONTHS_AHEAD, where
 * missing. A month whose signals already went to the DEFAULT partition (written before its
 * partition existed) keeps them there: the create is skipped with a warning, nothing is lost.
 * Returns the partitions created.
 */
export async function ensureSignalPartitions(dataSource: DataSource, log: Logger, now = new Date()): Promise<string[]> {
  const created: string[] = [];
  for (let ahead = 0; ahead <= MONTHS_AHEAD; ahead += 1) {
    const from = monthStart(now.getUTCFullYear(), now.getUTCMonth() + ahead);
    const to = monthStart(from.getUTCFullYear(), from.getUTCMonth() + 1);
    const name = `signals_${from.getUTCFullYear()}_${String(from.getUTCMonth() + 1).padStart(2, '0')}`;
    const [exists]: unknown[] = await dataSource.query(`SELECT 1 FROM pg_class WHERE relname = $1`, [name]);
    if (exists) continue;
    try {
      await dataSource.query(`CREATE TABLE ${name} PARTITION OF signals FOR VALUES FROM ('${from.toISOString()}') TO ('${to.toISOString()}')`);
      created.push(name);
    } catch (error) {
      log.warn({ err: error, partition: name }, 'could not create a signals partition; its month stays in signals_default');
    }
  }
  return created;
}
