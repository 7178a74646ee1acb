import type { DataSource } from 'typeorm';
import { assertNotification } from '../../db/notifications';
import { maskText } from '../../tokens/mask-text';
import { SecretValues } from '../../tokens/secret-values';
import { TRAINING_CHANNEL, encodeLogsEvent, encodeTrainingEvent } from './training-events';
import type { LogLine } from './training-runs';

const MAX_LINE_CHARS = 16_384;
const MASK_MARGIN_CHARS = 1_024;

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

const MAX_BATCH = 500;
/**
 * A busy run stores at most one batch per this many ms: each batch is a statement, and one
 * WebSocket message to each follower (200 followers at 50 batches a second are 10,000 messages).
 */
const MIN_BATCH_INTERVAL_MS = 20;

/** This process's followers of live logs: handed each batch once it is committed. */
export interface LiveLogs {
  /** Names this process in the NOTIFY, so its own listener can tell the batch has already arrived. */
  readonly origin: string;
  stored(runId: string, lines: LogLine[]): void;
}

/**
 * Stores a run's output lines in order (run id, seq), masked, in batches: the INSERT, the
 * run's line count and the NOTIFY of a batch are one statement, so a line a subscriber is
 * told about is always readable, and a line acknowledged survives a crash of this process
 * (on PostgreSQL, not of PostgreSQL itself: see storeBatch). An idle writer
 * stores at once (the lines of one output chunk together); lines written while a batch is
 * being stored, or sooner than MIN_BATCH_INTERVAL_MS after it started, form the next batch,
 * so a busy run sends fewer, larger batches. Each committed batch is handed to this
 * process's followers directly and reaches other processes through the NOTIFY.
 */
export class LogWriter {
  private pending: PendingLine[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private busy = false;
  private lastBatchAt = -Infinity;
  private flushing: Promise<void> = Promise.resolve();
  private metrics: PendingMetric[] = [];
  private abandoned = false;
  private readonly secrets: SecretValues;

  constructor(
    private readonly dataSource: DataSource,
    private readonly runId: string,
    private nextSeq: number,
    /** Exact values to mask besides anything shaped like a token (the configured secrets). */
    secrets: readonly string[],
    private readonly onError: (error: unknown) => void,
    private readonly live?: LiveLogs,
    /** See storeBatch; true only on a PostgreSQL server. */
    private readonly asyncCommit = false,
  ) {
    this.secrets = new SecretValues(secrets);
  }

  write(stream: string, line: string): void {
    if (this.abandoned) return;
    this.pending.push({ stream, line: this.mask(line), at: new Date() });
    this.schedule();
  }

  metric(name: string, step: number, value: number): void {
    if (this.abandoned) return;
    this.metrics.push({ name, step, value, at: new Date() });
    this.schedule();
  }

  /**
   * Another process owns the run now (this one lost its lease) and writes its lines from the
   * seq it found: drop what is not stored yet and store nothing more, so no line of ours takes
   * a seq that process will use.
   */
  abandon(): void {
    this.abandoned = true;
    this.pending = [];
    this.metrics = [];
  }

  /**
   * Everything written so far is stored and announced when this resolves. A batch that fails
   * to store (a database blip) goes back to the front of the queue and is tried again.
   */
  async flush(attempts = 5): Promise<void> {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    this.flushing = this.flushing.then(async () => {
      this.busy = true;
      try {
        for (let attempt = 1; ; attempt++) {
          try {
            return await this.store();
          } catch (error) {
            if (attempt >= attempts) return this.onError(error);
            await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
          }
        }
      } finally {
        this.busy = false;
      }
    });
    await this.flushing;
  }

  /** While a batch is being stored, store() picks up what arrives meanwhile when it is done. */
  private schedule(): void {
    if (this.busy || this.scheduled) return;
    this.scheduled = setImmediate(() => {
      this.scheduled = undefined;
      void this.flush();
    });
  }

  /** The same masking as stored lines, for text stored elsewhere (failure reasons). */
  masked(text: string): string {
    return this.mask(text);
  }

  private mask(line: string): string {
    if (line.length <= MAX_LINE_CHARS) return maskText(line, this.secrets);
    // Masked before it is cut, so a secret across the cut is masked whole, not left as a prefix;
    // the margin (longer than any key or token) keeps masking a huge line cheap. When masking
    // shortened the window, a secret cut at its end may have moved into the kept part: then the
    // whole line is masked instead (rare: a line over 16 KiB with secrets in it).
    const head = truncate(line, MAX_LINE_CHARS + MASK_MARGIN_CHARS);
    let masked = maskText(head, this.secrets);
    if (masked.length < head.length) masked = maskText(line, this.secrets);
    return `${truncate(masked, MAX_LINE_CHARS)} … [line truncated]`;
  }

  private async store(): Promise<void> {
    while (!this.abandoned && (this.pending.length > 0 || this.metrics.length > 0)) {
      const wait = this.lastBatchAt + MIN_BATCH_INTERVAL_MS - performance.now();
      if (wait > 0 && this.pending.length < MAX_BATCH) await new Promise((resolve) => setTimeout(resolve, wait));
      this.lastBatchAt = performance.now();
      const lines = this.pending.splice(0, MAX_BATCH);
      const metrics = this.metrics.splice(0, MAX_BATCH);
      const stored = lines.map((entry, index) => ({ seq: this.nextSeq + index, ...entry }));
      try {
        await this.storeBatch(stored, metrics);
      } catch (error) {
        if (this.abandoned) return;
        this.pending.unshift(...lines);
        this.metrics.unshift(...metrics);
        throw error;
      }
      this.nextSeq += lines.length;
      if (stored.length > 0) this.live?.stored(this.runId, stored);
    }
  }

  /** One statement (atomic, one round trip): the lines, the run's line count, the metrics and the notifications. */
  private async storeBatch(lines: LogLine[], metrics: PendingMetric[]): Promise<void> {
    const values: unknown[] = [this.runId];
    const param = (value: unknown) => `$${values.push(value)}`;
    const steps: string[] = [];
    const notifications: string[] = [];
    const notify = (payload: string) => {
      assertNotification(TRAINING_CHANNEL, payload);
      notifications.push(`pg_notify(${param(TRAINING_CHANNEL)}, ${param(payload)})`);
    };
    if (lines.length > 0) {
      const rows = lines.map((entry) => `($1, ${param(entry.seq)}, ${param(entry.at)}, ${param(entry.stream)}, ${param(entry.line)})`);
      // Idempotent: a batch retried after a commit whose answer was lost (or written again by a
      // worker that has just lost the run) neither fails on the primary key forever nor moves the count back.
      steps.push(
        `stored_lines AS (INSERT INTO training_log_lines (run_id, seq, at, stream, line) VALUES ${rows.join(', ')} ON CONFLICT (run_id, seq) DO NOTHING)`,
      );
      steps.push(`line_count AS (UPDATE training_runs SET log_line_count = GREATEST(log_line_count, ${param(lines[lines.length - 1].seq)}) WHERE id = $1)`);
      notify(encodeLogsEvent(this.runId, this.live?.origin ?? '', lines));
    }
    if (metrics.length > 0) {
      const rows = metrics.map((metric) => `($1, ${param(metric.name)}, ${param(metric.step)}, ${param(metric.value)}, ${param(metric.at)})`);
      steps.push(`stored_metrics AS (INSERT INTO training_metrics (run_id, name, step, value, at) VALUES ${rows.join(', ')})`);
      notify(encodeTrainingEvent({ type: 'changed', runId: this.runId, final: false }));
    }
    // On a PostgreSQL server, asynchronous commit for this transaction only (PostgreSQL's
    // "Asynchronous Commit"): the batch is committed and visible at once, but PostgreSQL does
    // not wait for its WAL flush, which, stalled by the disk, held whole batches 30 to 200 ms on
    // our machine. A crash of this process loses nothing; only a crash of PostgreSQL itself can
    // lose the last ~0.6 s of lines (3 x wal_writer_delay). Run states commit synchronously.
    const selected = this.asyncCommit ? [...notifications, `set_config('synchronous_commit', 'off', true)`] : notifications;
    await this.dataSource.query(`WITH ${steps.join(', ')} SELECT ${selected.join(', ')}`, values);
  }
}

/** The first `max` UTF-16 units of `text`, without splitting a surrogate pair. */
function truncate(text: string, max: number): string {
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}
