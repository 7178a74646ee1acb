// The flags of `mp data info` and `mp data pull`: --round and --kind.
import { DatasetFileKind } from '../../../generated/schema-types';
import { enumChoice, enumChoices, toEnum } from '../../enum-choices';
import { parseRound } from '../../flag-parsers';

export const roundOption = {
  type: 'string',
  default: 'current',
  requiresArg: true,
  describe: 'A round number, or "current" (the newest open round)',
  coerce: parseRound,
} as const;

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
