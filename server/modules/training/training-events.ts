import type { LogLine } from './training-runs';

/**
 * What processes tell each other about training runs, on one NOTIFY channel, far under
 * Postgres's 8000-byte payload limit. New log lines travel inside the notification when
 * they fit in INLINE_LINES_MAX_BYTES (listeners then need no read); otherwise only their
 * last seq does and listeners read the rows themselves.
 */
export const TRAINING_CHANNEL = 'mp_training';

/** A stored log line inside a notification: [seq, at (epoch ms), stream, line], already masked. */
export type WireLogLine = [number, number, string, string];

export type TrainingEvent =
  | { type: 'queued' }
  | { type: 'logs'; runId: string; lastSeq: number; origin?: string; lines?: WireLogLine[] }
  | { type: 'changed'; runId: string; final: boolean }
  | { type: 'stop'; runId: string }
  /** A process that shuts down released the run's lease: another may adopt it now. */
  | { type: 'handover'; runId: string };

/** The payload budget for a logs event that carries its lines (the limit is 7999 bytes). */
export const INLINE_LINES_MAX_BYTES = 7000;

export function encodeTrainingEvent(event: TrainingEvent): string {
  return JSON.stringify(event);
}

export function decodeTrainingEvent(payload: string): TrainingEvent | null {
  try {
    const event = JSON.parse(payload) as TrainingEvent;
    return typeof event === 'object' && event !== null && typeof event.type === 'string' ? event : null;
  } catch {
    return null;
  }
}

/**
 * The notification for lines just stored (seq ascending, contiguous), sent by the process
 * `origin`: with the lines when the payload stays within INLINE_LINES_MAX_BYTES.
 */
export function encodeLogsEvent(runId: string, origin: string, lines: readonly LogLine[]): string {
  const bare = { type: 'logs' as const, runId, lastSeq: lines[lines.length - 1].seq, origin };
  let chars = 0;
  for (const entry of lines) chars += entry.line.length + entry.stream.length;
  // Each character is at least one byte: a batch over the budget in characters cannot fit.
  if (chars < INLINE_LINES_MAX_BYTES) {
    const inline = encodeTrainingEvent({ ...bare, lines: lines.map((entry) => [entry.seq, entry.at.getTime(), entry.stream, entry.line]) });
    if (Buffer.byteLength(inline) <= INLINE_LINES_MAX_BYTES) return inline;
  }
  return encodeTrainingEvent(bare);
}

/** The lines a logs event carries, or null when it carries none or they are malformed. */
export function inlineLines(event: { lines?: unknown }): LogLine[] | null {
  if (!Array.isArray(event.lines) || event.lines.length === 0) return null;
  const lines: LogLine[] = [];
  for (const wire of event.lines as unknown[]) {
    if (!Array.isArray(wire) || wire.length !== 4) return null;
    const [seq, at, stream, line] = wire as unknown[];
    if (!Number.isInteger(seq) || typeof at !== 'number' || typeof stream !== 'string' || typeof line !== 'string') return null;
    if (lines.length > 0 && seq !== lines[lines.length - 1].seq + 1) return null;
    lines.push({ seq: seq as number, at: new Date(at), stream, line });
  }
  return lines;
}
