import type { DataSource } from 'typeorm';
import { DomainError, badInput } from '../../domain-error';
import { decodeCursor, encodeCursor, pageSize } from '../../db/pagination';
import type { SignalFilter } from '../../../generated/server-types';
import type { Principal } from '../identity/principal';

/** A stored signal as the API shows it (`vendor` is resolved from vendorId). */
export interface StoredSignal {
  symbol: string;
  asOf: Date;
  horizonDays: number;
  score: number;
  confidence: number;
  vendorId: string;
  source: 'DEPLOYMENT' | 'UPLOAD';
  deploymentId: string | null;
  /** The table's writer key (the deployment, or the model of an upload): pages are ordered by it. */
  writerKey: string;
  modelId: string | null;
  round: number;
  writtenAt: Date;
}

interface SignalRow {
  symbol: string;
  as_of: Date;
  horizon_days: number;
  score: number;
  confidence: number;
  vendor_id: string;
  deployment_id: string;
  model_id: string | null;
  round_number: number;
  written_at: Date;
  source: 'DEPLOYMENT' | 'UPLOAD';
}

export const SIGNAL_COLUMNS = 'symbol, as_of, horizon_days, score, confidence, vendor_id, deployment_id, model_id, round_number, written_at, source';

export function toSignal(row: SignalRow): StoredSignal {
  return {
    symbol: row.symbol,
    asOf: new Date(row.as_of),
    horizonDays: row.horizon_days,
    score: row.score,
    confidence: row.confidence,
    vendorId: row.vendor_id,
    source: row.source,
    // For an upload the writer's key is the model's id: no deployment wrote it.
    deploymentId: row.source === 'UPLOAD' ? null : row.deployment_id,
    writerKey: row.deployment_id,
    modelId: row.model_id,
    round: row.round_number,
    writtenAt: new Date(row.written_at),
  };
}

/** Whose signals a caller may read: a vendor its own, an admin anyone's (null: everyone's). */
export function readableVendor(principal: Principal | null): string | null {
  if (!principal) throw new DomainError('UNAUTHENTICATED', 'reading signals needs an API key (mp login)');
  return principal.role === 'ADMIN' ? null : principal.vendorId;
}

export class SignalReads {
  constructor(private readonly dataSource: DataSource) {}

  /** Signals, newest asOf first, paged by (asOf, deployment, symbol, horizon). */
  list(principal: Principal | null, args: { filter?: SignalFilter | null; first?: number | null; after?: string | null }) {
    return listSignals(this.dataSource, principal, args);
  }
}

async function listSignals(
  dataSource: DataSource,
  principal: Principal | null,
  args: { filter?: SignalFilter | null; first?: number | null; after?: string | null },
) {
  const own = readableVendor(principal);
  const size = pageSize(args.first, 50);
  const filter = args.filter ?? {};
  const where: string[] = [];
  const values: unknown[] = [];
  const add = (clause: string, value: unknown) => {
    values.push(value);
    where.push(clause.replace('?', `$${values.length}`));
  };
  if (own) add('vendor_id = ?', own);
  if (filter.vendor) {
    if (own) throw badInput('filter.vendor', "only admins read other vendors' signals: leave it out to read yours");
    values.push(filter.vendor);
    where.push(`vendor_id IN (SELECT id FROM vendors WHERE id = $${values.length} OR handle = $${values.length})`);
  }
  if (filter.symbol) add('symbol = ?', filter.symbol);
  if (filter.model) add('model_id = ?', filter.model);
  if (filter.deployment) add('deployment_id = ?', filter.deployment);
  if (filter.from) add('as_of >= ?', new Date(filter.from as string | Date).toISOString());
  if (filter.to) add('as_of < ?', new Date(filter.to as string | Date).toISOString());
  const after = decodeCursor(args.after, ['time', 'text', 'text', 'integer']) as [string, string, string, number] | undefined;
  if (after) {
    values.push(...after);
    const n = values.length;
    where.push(`(as_of, deployment_id, symbol, horizon_days) < ($${n - 3}::timestamptz, $${n - 2}, $${n - 1}, $${n}::int)`);
  }
  const rows: SignalRow[] = await dataSource.query(
    `SELECT ${SIGNAL_COLUMNS} FROM signals ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY as_of DESC, deployment_id DESC, symbol DESC, horizon_days DESC LIMIT ${size + 1}`,
    values,
  );
  const nodes = rows.slice(0, size).map(toSignal);
  const edges = nodes.map((node) => ({ cursor: encodeCursor([node.asOf.toISOString(), node.writerKey, node.symbol, node.horizonDays]), node }));
  return {
    edges,
    nodes,
    pageInfo: {
      hasNextPage: rows.length > size,
      hasPreviousPage: Boolean(after),
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}
