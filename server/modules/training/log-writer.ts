import type { DataSource } from 'typeorm';
import type { Notifications } from '../../db/notifications';
import { maskSecrets } from '../../logger';
import { TRAINING_CHANNEL, encodeTrainingEvent } from './training-events';

const MAX_LINE_CHARS = 16_384;

interface PendingLine {
  stream: string;
  line: string;
  at: Date;
}

interface PendingMetric {
  name: string;
  step: number;
  value: number;
  at: Date;
}
const FLUSH_AFTER_MS = 10;
const MAX_BATCH = 500;

/**
 * Stores a run's output lines in order (run id, seq), masked, in small batches: one
 * INSERT, the run's line count and one NOTIFY per batch, all in one transaction, so a line
 * a subscriber is told about is always readable, and a line acknowledged survives a crash.
 */
export class LogWriter {
  private pending: PendingLine[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private metrics: PendingMetric[] = [];

  constructor(
    private readonly dataSource: DataSource,
    private readonly notifications: Notifications,
    private readonly runId: string,
    private nextSeq: number,
    private readonly secrets: string[],
    private readonly onError: (error: unknown) => void,
  ) {}

  write(stream: string, line: string): void {
    this.pending.push({ stream, line: this.mask(line), at: new Date() });
    this.schedule();
  }

  metric(name: string, step: number, value: number): void {
    this.metrics.push({ name, step, value, at: new Date() });
    this.schedule();
  }

  /**
   * Everything written so far is stored and announced when this resolves. A batch that fails
   * to store (a database blip) goes back to the front of the queue and is tried again.
   */
  async flush(attempts = 5): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing = this.flushing.then(async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.store();
        } catch (error) {
          if (attempt >= attempts) return this.onError(error);
          await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
        }
      }
    });
    await this.flushing;
  }

  private schedule(): void {
    if (this.pending.length >= MAX_BATCH) {
      void this.flush();
      return;
    }
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_AFTER_MS);
  }

  /** The same masking as stored lines, for text stored elsewhere (failure reasons). */
  masked(text: string): string {
    return this.mask(text);
  }

  private mask(line: string): string {
    let masked = maskSecrets(line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)} … [line truncated]` : line);
    for (const secret of this.secrets) if (secret) masked = masked.split(secret).join('[REDACTED]');
    return masked;
  }

  private async store(): Promise<void> {
    while (this.pending.length > 0 || this.metrics.length > 0) {
      const lines = this.pending.splice(0, MAX_BATCH);
      const metrics = this.metrics.splice(0, MAX_BATCH);
      const firstSeq = this.nextSeq;
      try {
        await this.storeBatch(firstSeq, lines, metrics);
      } catch (error) {
        this.pending.unshift(...lines);
        this.metrics.unshift(...metrics);
        throw error;
      }
      this.nextSeq = firstSeq + lines.length;
    }
  }

  private async storeBatch(firstSeq: number, lines: PendingLine[], metrics: PendingMetric[]): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      if (lines.length > 0) {
        const values: unknown[] = [this.runId];
        const rows = lines.map((entry, index) => {
          values.push(firstSeq + index, entry.at, entry.stream, entry.line);
          const base = values.length - 4;
          return `($1, $${base + 1}, $${base + 2}, $${base + 3}, $${base + 4})`;
        });
        await manager.query(`INSERT INTO training_log_lines (run_id, seq, at, stream, line) VALUES ${rows.join(', ')}`, values);
        await manager.query('UPDATE training_runs SET log_line_count = $2 WHERE id = $1', [this.runId, firstSeq + lines.length - 1]);
        await this.notifications.notify(manager, TRAINING_CHANNEL, encodeTrainingEvent({ type: 'logs', runId: this.runId, lastSeq: firstSeq + lines.length - 1 }));
      }
      if (metrics.length > 0) {
        const values: unknown[] = [this.runId];
        const rows = metrics.map((metric) => {
          values.push(metric.name, metric.step, metric.value, metric.at);
          const base = values.length - 4;
          return `($1, $${base + 1}, $${base + 2}, $${base + 3}, $${base + 4})`;
        });
        await manager.query(`INSERT INTO training_metrics (run_id, name, step, value, at) VALUES ${rows.join(', ')}`, values);
        await this.notifications.notify(manager, TRAINING_CHANNEL, encodeTrainingEvent({ type: 'changed', runId: this.runId, final: false }));
      }
    });
  }
}
