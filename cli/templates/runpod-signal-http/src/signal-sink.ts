/**
 * Writes answered inferences to the signal store (MP_SIGNALS_URL, or the signalsUrl of the last
 * heartbeat receipt) as SignalWriteBatch `{"signals": [...]}`, in the background: `push` never
 * waits. Batches of up to 500 go out every second (sooner when 500 are waiting), one at a time,
 * each with its own Idempotency-Key, kept across its retries so the store counts it once. A
 * network error, 408, 429 or 5xx is retried (4 attempts in all, backing off); any other answer
 * drops the batch with a log line. Past `maxQueue` waiting signals the oldest are dropped.
 */
import { randomUUID } from 'node:crypto';
import { redactUrl } from './config';
import type { SignalWrite } from './contract.generated';
import type { Log } from './log';

export interface SignalSinkOptions {
  url: URL | null;
  token: string | null;
  log: Log;
  flushMs?: number;
  batchSize?: number;
  maxQueue?: number;
  maxAttempts?: number;
  /** Before retry n (1-based), when the answer gave no Retry-After. */
  retryDelayMs?: (retry: number) => number;
}

interface Batch {
  key: string;
  signals: SignalWrite[];
}

type Outcome = { kind: 'done' } | { kind: 'retry'; reason: string; afterMs: number | null } | { kind: 'drop'; reason: string };

const REQUEST_TIMEOUT_MS = 10_000;
const MAX_RETRY_AFTER_MS = 30_000;

export class SignalSink {
  private url: URL | null;
  private readonly token: string | null;
  private readonly log: Log;
  private readonly flushMs: number;
  private readonly batchSize: number;
  private readonly maxQueue: number;
  private readonly maxAttempts: number;
  private readonly retryDelayMs: (retry: number) => number;
  private queue: SignalWrite[] = [];
  private timer: NodeJS.Timeout | null = null;
  private sending: Promise<void> | null = null;
  private dropped = 0;
  /** Dropped because the queue was full, not yet logged (logged once per batch, not per push). */
  private overflowed = 0;
  private written = 0;
  private closed = false;
  /** Set while closing: retries stop waiting past it. */
  private deadline = Number.POSITIVE_INFINITY;

  constructor(options: SignalSinkOptions) {
    this.url = options.url;
    this.token = options.token;
    this.log = options.log;
    this.flushMs = options.flushMs ?? 1000;
    this.batchSize = options.batchSize ?? 500;
    this.maxQueue = options.maxQueue ?? 50_000;
    this.maxAttempts = options.maxAttempts ?? 4;
    this.retryDelayMs = options.retryDelayMs ?? ((retry) => 500 * 2 ** (retry - 1));
  }

  get target(): URL | null {
    return this.url;
  }

  get stats(): { queued: number; written: number; dropped: number } {
    return { queued: this.queue.length, written: this.written, dropped: this.dropped };
  }

  setUrl(url: URL): void {
    if (this.url?.href === url.href) return;
    this.url = url;
    this.log.info(`signals now go to ${redactUrl(url)}`);
    this.schedule();
  }

  push(signals: ReadonlyArray<SignalWrite>): void {
    if (this.url === null || this.closed) return;
    this.queue.push(...signals);
    const excess = this.queue.length - this.maxQueue;
    if (excess > 0) {
      this.queue.splice(0, excess);
      this.dropped += excess;
      this.overflowed += excess;
    }
    if (this.queue.length >= this.batchSize) this.kick();
    else this.schedule();
  }

  /** Writes what is waiting, retrying until `deadlineMs` from now at most; then drops the rest. */
  async close(deadlineMs: number): Promise<void> {
    this.closed = true;
    this.deadline = Date.now() + deadlineMs;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.sending || (this.queue.length > 0 && this.url !== null && Date.now() < this.deadline)) {
      await (this.sending ?? this.sendNext());
    }
    if (this.queue.length > 0) this.drop(this.queue.splice(0).length, 'the endpoint is shutting down');
  }

  private schedule(): void {
    if (this.timer || this.closed || this.queue.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.kick();
    }, this.flushMs);
    this.timer.unref();
  }

  private kick(): void {
    if (this.sending || this.closed) return;
    void this.sendNext();
  }

  private sendNext(): Promise<void> {
    if (this.overflowed > 0) {
      this.log.error(`dropped the oldest ${this.overflowed} signals: more than ${this.maxQueue} were waiting to be written`);
      this.overflowed = 0;
    }
    const batch: Batch = { key: randomUUID(), signals: this.queue.splice(0, this.batchSize) };
    this.sending = this.deliver(batch).finally(() => {
      this.sending = null;
      if (!this.closed) {
        if (this.queue.length >= this.batchSize) this.kick();
        else this.schedule();
      }
    });
    return this.sending;
  }

  private async deliver(batch: Batch): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.post(batch);
      if (outcome.kind === 'done') {
        this.written += batch.signals.length;
        return;
      }
      if (outcome.kind === 'drop') return this.drop(batch.signals.length, outcome.reason);
      const wait = Math.min(outcome.afterMs ?? this.retryDelayMs(attempt), MAX_RETRY_AFTER_MS);
      if (attempt >= this.maxAttempts || Date.now() + wait > this.deadline) {
        return this.drop(batch.signals.length, `${outcome.reason} (${attempt} attempt${attempt === 1 ? '' : 's'})`);
      }
      this.log.warn(`writing ${batch.signals.length} signals failed: ${outcome.reason}; retrying in ${Math.round(wait / 100) / 10} s`);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  private async post(batch: Batch): Promise<Outcome> {
    const url = this.url;
    if (url === null) return { kind: 'drop', reason: 'no signals URL' };
    const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': batch.key };
    if (this.token !== null) headers.authorization = `Bearer ${this.token}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ signals: batch.signals }),
        signal: AbortSignal.timeout(Math.max(1, Math.min(REQUEST_TIMEOUT_MS, this.deadline - Date.now()))),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: unknown } }).cause;
      return {
        kind: 'retry',
        reason: `${redactUrl(url)} unreachable (${typeof cause?.code === 'string' ? cause.code : (error as Error).message})`,
        afterMs: null,
      };
    }
    const text = (await response.text().catch(() => '')).slice(0, 300);
    if (response.ok) return { kind: 'done' };
    const reason = `${redactUrl(url)} answered HTTP ${response.status}${text ? `: ${text.replace(/\s+/g, ' ')}` : ''}`;
    if (response.status === 408 || response.status === 429 || response.status >= 500) {
      const retryAfter = response.headers.get('retry-after');
      const seconds = retryAfter !== null && /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter) : null;
      return { kind: 'retry', reason, afterMs: seconds === null ? null : seconds * 1000 };
    }
    return { kind: 'drop', reason };
  }

  private drop(count: number, reason: string): void {
    this.dropped += count;
    this.log.error(`dropped ${count} signal${count === 1 ? '' : 's'}: ${reason}`);
  }
}
