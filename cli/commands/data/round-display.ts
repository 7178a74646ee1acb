// The words of `mp data` output: round titles, file kinds, short hashes, a missing open round.
import type { DatasetFileKind } from '../../../generated/schema-types';
import { CliError, ExitCode } from '../../errors';

export function noOpenRound(): CliError {
  return new CliError('no round is open right now', ExitCode.NOT_FOUND, {
    hint: 'See every round with `mp data list`, then pass --round N.',
  });
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
