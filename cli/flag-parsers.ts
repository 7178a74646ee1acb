// Flags more than one command takes: --task, --limit, whole-number counts, --round.
import { ModelTask } from '../generated/schema-types';
import { enumChoices, toEnum } from './enum-choices';

/** `--task signal`: the model tasks, in lower case. */
export const TASKS = enumChoices(ModelTask);
export type TaskName = Lowercase<ModelTask>;

export function taskEnum(task: TaskName): ModelTask {
  return toEnum(ModelTask, task);
}

export const MAX_LIMIT = 100;

export function parseLimit(value: unknown): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1 || number > MAX_LIMIT) {
    throw new Error(`--limit must be a whole number from 1 to ${MAX_LIMIT}`);
  }
  return number;
}

/** A whole number of at least `min`, for `--after` (0 and up) and `--tail` (1 and up). */
export function parseCount(flag: string, min: number): (value: unknown) => number {
  return (value: unknown) => {
    const text = String(value ?? '').trim();
    const number = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(number) || number < min) {
      throw new Error(`invalid ${flag} "${text}": use a whole number${min > 0 ? ` of at least ${min}` : ''}`);
    }
    return number;
  };
}

/** `--round 3` or `--round current` (the newest OPEN round). */
export type RoundRef = number | 'current';

export function parseRound(value: unknown): RoundRef {
  const text = String(value ?? '')
    .trim()
    .toLowerCase();
  if (text === 'current') return 'current';
  if (/^\d+$/.test(text)) {
    const number = Number(text);
    if (Number.isSafeInteger(number) && number >= 1 && number <= 2_147_483_647) return number;
  }
  throw new Error(`invalid --round "${String(value)}": use a round number (1, 2, ...) or "current"`);
}
