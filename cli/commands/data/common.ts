// Shared by `mp data info` and `mp data pull` (not a command itself): the --round flag and
// the words used for rounds, kinds and missing rounds.
import { DatasetFileKind } from '../../../generated/schema-types';
import { enumChoice, enumChoices, toEnum } from '../../enum-choices';
import { CliError, ExitCode } from '../../errors';

/** `--round 3` or `--round current` (the newest OPEN round). */
export type RoundRef = number | 'current';

export function parseRoundArg(value: unknown): RoundRef {
  const text = String(value ?? '').trim().toLowerCase();
  if (text === 'current' || text === '') return 'current';
  if (/^\d+$/.test(text)) {
    const number = Number(text);
    if (Number.isSafeInteger(number) && number >= 1 && number <= 2_147_483_647) return number;
  }
  throw new Error(`invalid --round "${String(value)}": use a round number (1, 2, ...) or "current"`);
}

export const roundOption = {
  type: 'string',
  default: 'current',
  requiresArg: true,
  describe: 'A round number, or "current" (the newest open round)',
  coerce: parseRoundArg,
} as const;

export function noOpenRound(): CliError {
  return new CliError('no round is open right now', ExitCode.NOT_FOUND, {
    hint: 'See every round with `mp data list`, then pass --round N.',
  });
}

export const KINDS = enumChoices(DatasetFileKind);
export type KindName = Lowercase<DatasetFileKind>;
/** What a pull fetches by default, in download order: all but the resolution (realized targets, there once the round resolves). */
export const DEFAULT_KINDS: readonly KindName[] = [DatasetFileKind.Train, DatasetFileKind.Validation, DatasetFileKind.Live].map(enumChoice);

/** `--kind train,live` (also repeatable: `--kind train --kind live`). */
export function parseKinds(value: unknown): KindName[] {
  const words = (Array.isArray(value) ? value : [value])
    .flatMap((item) => String(item ?? '').split(','))
    .map((word) => word.trim().toLowerCase())
    .filter((word) => word.length > 0);
  if (words.length === 0) throw new Error(`--kind needs at least one of ${KINDS.join(', ')}`);
  const kinds: KindName[] = [];
  for (const word of words) {
    const kind = KINDS.find((candidate) => candidate === word);
    if (!kind) throw new Error(`invalid --kind "${word}": choose from ${KINDS.join(', ')} (comma-separated)`);
    kinds.push(kind);
  }
  return [...new Set(kinds)];
}

export function kindEnum(kind: KindName): DatasetFileKind {
  return toEnum(DatasetFileKind, kind);
}

export function kindLabel(kind: DatasetFileKind): string {
  return kind.toLowerCase();
}

/** The first 12 hex digits, enough to tell files apart at a glance. */
export function shortSha(sha256: string): string {
  return sha256.slice(0, 12);
}

/** "Round 1: S&P 500 daily" (the name may already start with "Round 1"). */
export function roundTitle(round: { number: number; name: string }): string {
  const name = round.name.trim();
  return new RegExp(`^round\\s+${round.number}\\b`, 'i').test(name) ? name : `Round ${round.number}: ${name}`;
}
