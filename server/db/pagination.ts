import { badInput } from '../domain-error';
import { unusableTextProblem } from './unusable-text';

/** Relay-style connections: `first` is 1..100, cursors are opaque base64url JSON. */
export const MAX_PAGE_SIZE = 100;

export function pageSize(first: number | null | undefined, fallback = 20): number {
  const size = first ?? fallback;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw badInput('first', `must be between 1 and ${MAX_PAGE_SIZE} (got ${size}); page with \`after\` for more`);
  }
  return size;
}

export function encodeCursor(values: unknown[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

/**
 * What each position of a cursor holds: a timestamp (ISO 8601; `time?` may be null), text, or
 * a whole number. A cursor is opaque to clients, but a forged one must be refused as
 * BAD_USER_INPUT, not reach the database as a value it cannot compare.
 */
export type CursorValue = 'time' | 'time?' | 'text' | 'integer';

function fits(value: unknown, kind: CursorValue): boolean {
  switch (kind) {
    case 'time?':
      return value === null || fits(value, 'time');
    case 'time':
      return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/.test(value) && !Number.isNaN(Date.parse(value));
    case 'text':
      return typeof value === 'string' && value.length <= 1000 && unusableTextProblem(value) === null;
    case 'integer':
      return Number.isSafeInteger(value);
  }
}

export function decodeCursor(cursor: string | null | undefined, shape: readonly CursorValue[]): unknown[] | undefined {
  if (cursor === null || cursor === undefined) return undefined;
  try {
    const values: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(values) && values.length === shape.length && values.every((value, index) => fits(value, shape[index]))) return values;
  } catch {
    // fall through to the error below
  }
  throw badInput('after', 'is not a cursor from this list: pass the endCursor of a previous page');
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  nodes: T[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  totalCount: number;
}

/** Build a connection from `size + 1` fetched rows (the extra row only says there is a next page). */
export function toConnection<T>(rows: T[], size: number, totalCount: number, cursorOf: (row: T) => unknown[], hasPrevious: boolean): Connection<T> {
  const nodes = rows.slice(0, size);
  const edges = nodes.map((node) => ({ cursor: encodeCursor(cursorOf(node)), node }));
  return {
    edges,
    nodes,
    pageInfo: {
      hasNextPage: rows.length > size,
      hasPreviousPage: hasPrevious,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
    totalCount,
  };
}
