import { EventEmitter } from 'node:events';
import { PGlite, types, type Results } from '@electric-sql/pglite';

/**
 * A `pg`-compatible Pool over one in-process PGlite instance, handed to TypeORM's
 * postgres driver as its `driver` module.
 *
 * PGlite has exactly one session. If two pool clients shared it (as typeorm-pglite does),
 * one client's ROLLBACK would undo another client's statements that ran inside the same
 * open transaction. So a client here owns the whole session from `connect()` until
 * `release()`: clients are handed out one at a time, in order, and a transaction left
 * open by a released client is rolled back before the next client gets the session.
 */

const ACQUIRE_TIMEOUT_MS = 30_000;

type ConnectCallback = (error: Error | undefined, client?: PgliteClient, release?: (error?: unknown) => void) => void;

export interface PgliteQueryResult {
  rows: Record<string, unknown>[];
  rowCount: number;
  command: string;
  fields: { name: string; dataTypeID: number }[];
}

/**
 * Match node-postgres: int8 comes back as a string, never a lossy number. Given once to
 * PGlite.create (per-query parsers make PGlite rebuild its whole parser table each time).
 */
export const PG_COMPATIBLE_PARSERS = {
  [types.INT8]: (value: string) => value,
};

export class PgliteClient extends EventEmitter {
  private inTransaction = false;

  constructor(private readonly db: PGlite) {
    super();
  }

  async query(text: string, values?: unknown[]): Promise<PgliteQueryResult> {
    const result = values && values.length > 0 ? await this.db.query<Record<string, unknown>>(text, values) : lastResult(await this.db.exec(text));
    this.trackTransaction(text);
    return {
      rows: result.rows,
      rowCount: result.affectedRows || result.rows.length,
      command: result.command ?? '',
      fields: result.fields,
    };
  }

  /** Roll back whatever a careless holder left open, so the next holder starts clean. */
  async reset(): Promise<void> {
    if (!this.inTransaction) return;
    this.inTransaction = false;
    await this.db.exec('ROLLBACK');
  }

  private trackTransaction(text: string): void {
    const statement = text.trimStart().slice(0, 24).toUpperCase();
    if (/^(BEGIN|START TRANSACTION)\b/.test(statement)) this.inTransaction = true;
    else if (/^(COMMIT|END|ROLLBACK)\b/.test(statement) && !/^ROLLBACK\s+TO\b/.test(statement)) this.inTransaction = false;
  }
}

export interface PglitePoolStats {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

export class PglitePool extends EventEmitter implements PglitePoolStats {
  private readonly client: PgliteClient;
  private busy = false;
  private ended = false;
  private readonly waiting: Array<(error?: Error) => void> = [];

  constructor(readonly db: PGlite) {
    super();
    this.client = new PgliteClient(db);
  }

  get totalCount(): number {
    return 1;
  }

  get idleCount(): number {
    return this.busy ? 0 : 1;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  connect(): Promise<PgliteClient>;
  connect(callback: ConnectCallback): void;
  connect(callback?: ConnectCallback): Promise<PgliteClient> | void {
    const acquired = this.acquire().then(() => this.client);
    if (!callback) return acquired;
    acquired.then(
      (client) => callback(undefined, client, () => this.release()),
      (error: Error) => callback(error),
    );
  }

  /** One statement on a session of its own (the way pg's `pool.query` works). */
  query(text: string, values?: unknown[]): Promise<PgliteQueryResult> {
    return this.withSession(() => this.client.query(text, values));
  }

  /** Run `work` while holding the session (for PGlite calls that bypass SQL, like listen). */
  async withSession<T>(work: (db: PGlite) => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await work(this.db);
    } finally {
      this.release();
    }
  }

  end(callback?: (error?: Error) => void): Promise<void> | void {
    this.ended = true;
    for (const wake of this.waiting.splice(0)) wake(new Error('the embedded database is closing'));
    if (callback) callback();
    else return Promise.resolve();
  }

  private acquire(): Promise<void> {
    if (this.ended) return Promise.reject(new Error('the embedded database is closed'));
    if (!this.busy) {
      this.busy = true;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      // A holder that waits for a second session would wait forever: fail loudly instead.
      const timer = setTimeout(() => {
        const index = this.waiting.indexOf(wake);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(new Error(`the embedded database stayed busy for ${ACQUIRE_TIMEOUT_MS / 1000} s`));
      }, ACQUIRE_TIMEOUT_MS);
      const wake = (error?: Error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      this.waiting.push(wake);
    });
  }

  private release(): void {
    this.client.reset().then(
      () => this.handOver(),
      (error: unknown) => {
        this.emit('error', error);
        this.handOver();
      },
    );
  }

  private handOver(): void {
    const next = this.waiting.shift();
    if (!next) {
      this.busy = false;
      return;
    }
    // PGlite answers through microtasks; handing over on the next turn lets timers, sockets and health checks run between holders.
    setImmediate(next);
  }
}

/** The module object TypeORM expects as `driver` (it calls `new driver.Pool(options)`). */
export function pgDriverFor(pool: PglitePool): { Pool: new () => PglitePool } {
  return {
    Pool: function SharedPglitePool() {
      return pool;
    } as unknown as new () => PglitePool,
  };
}

function lastResult(results: Results[]): Results<Record<string, unknown>> {
  const last = results[results.length - 1];
  return (last ?? { rows: [], fields: [], affectedRows: 0 }) as Results<Record<string, unknown>>;
}
