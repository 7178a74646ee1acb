import type { DataSource } from 'typeorm';
import { maskForDisplay, type Logger } from '../../logger';

/** The newest lines kept per deployment. */
export const MAX_LOG_LINES = 1000;
/** Lines of one deployment wait at most this long to be stored together. */
const FLUSH_MS = 200;
const MAX_BATCH = 500;

interface PendingLine {
  at: Date;
  stream: string;
  line: string;
}

/**
 * A deployment's log lines (its endpoint's output, the provider's notes), masked and stored in
 * batches: one statement per deployment every FLUSH_MS at most. The statement numbers the lines
 * after the deployment's newest, so whichever process writes (the owner of a LOCAL endpoint, any
 * process following a pod) continues the same sequence.
 * Every hundred lines, those beyond the newest MAX_LOG_LINES are deleted.
 */
export class DeploymentLogWriter {
  private readonly pending = new Map<string, PendingLine[]>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly dataSource: DataSource,
    private readonly log: Logger,
  ) {}

  write(deploymentId: string, stream: string, line: string): void {
    const lines = this.pending.get(deploymentId) ?? [];
    lines.push({ at: new Date(), stream, line: maskForDisplay(line) });
    this.pending.set(deploymentId, lines);
    if (lines.length >= MAX_BATCH) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Stores everything written so far; resolves once it is stored (or given up on, with a warning). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batches = [...this.pending];
    this.pending.clear();
    this.flushing = this.flushing.then(async () => {
      for (const [deploymentId, lines] of batches) {
        await this.store(deploymentId, lines).catch((error: unknown) =>
          this.log.warn({ err: error, deploymentId, lines: lines.length }, 'could not store deployment log lines'),
        );
      }
    });
    return this.flushing;
  }

  private async store(deploymentId: string, lines: PendingLine[]): Promise<void> {
    for (let start = 0; start < lines.length; start += MAX_BATCH) {
      const batch = lines.slice(start, start + MAX_BATCH);
      const newest = await this.insert(deploymentId, batch);
      if (Math.floor(newest / 100) !== Math.floor((newest - batch.length) / 100)) {
        await this.dataSource.query(`DELETE FROM deployment_log_lines WHERE deployment_id = $1 AND seq <= $2`, [deploymentId, newest - MAX_LOG_LINES]);
      }
    }
  }

  /**
   * Inserts the lines after the deployment's newest; returns the seq of the last. Writers of the
   * same deployment take turns (a transaction-scoped advisory lock), so each numbers its lines
   * after the other's.
   */
  private insert(deploymentId: string, batch: PendingLine[]): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT pg_advisory_xact_lock(hashtext('deployment_log_lines:' || $1))`, [deploymentId]);
      const rows: { seq: number }[] = await manager.query(
        `INSERT INTO deployment_log_lines (deployment_id, seq, at, stream, line)
       SELECT $1, COALESCE((SELECT MAX(seq) FROM deployment_log_lines WHERE deployment_id = $1), 0) + t.ord, t.at, t.stream, t.line
       FROM unnest($2::timestamptz[], $3::text[], $4::text[]) WITH ORDINALITY AS t(at, stream, line, ord)
       RETURNING seq`,
        [deploymentId, batch.map((line) => line.at.toISOString()), batch.map((line) => line.stream), batch.map((line) => line.line)],
      );
      return Math.max(...rows.map((row) => Number(row.seq)));
    });
  }
}
