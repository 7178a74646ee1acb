/**
 * What processes tell each other about training runs, on one NOTIFY channel. Payloads stay
 * tiny (ids and sequence numbers, never log text), far under Postgres's 8000-byte limit:
 * listeners read the rows themselves.
 */
export const TRAINING_CHANNEL = 'mp_training';

export type TrainingEvent =
  | { type: 'queued' }
  | { type: 'logs'; runId: string; lastSeq: number }
  | { type: 'changed'; runId: string; final: boolean }
  | { type: 'stop'; runId: string };

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
