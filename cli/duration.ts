const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** The limits of a training run's timeout (schema/training.graphql: 60 s to 7 days). */
export const MIN_TIMEOUT_SECONDS = 60;
export const MAX_TIMEOUT_SECONDS = 7 * 86_400;

const FORMAT_HINT = 'use seconds (5400) or a number with a unit: 90s, 45m, 2h, 1.5h, 1d';

/**
 * Parses `--timeout`: `90s`, `45m`, `2h`, `1.5h`, `1d`, or plain seconds (`5400`). Returns whole
 * seconds. Throws (yargs turns the message into a usage error, exit 2) on anything else,
 * on zero or a negative value, and outside the `min`..`max` seconds the API accepts.
 */
export function parseDurationSeconds(
  input: unknown,
  flag = '--timeout',
  limits: { min: number; max: number } = { min: MIN_TIMEOUT_SECONDS, max: MAX_TIMEOUT_SECONDS },
): number {
  const text = String(input ?? '').trim();
  if (/^-/.test(text)) throw new Error(`invalid ${flag} "${text}": must be positive`);
  const match = /^(\d+(?:\.\d+)?|\.\d+)\s*([smhd])?$/i.exec(text);
  if (!match) throw new Error(`invalid ${flag} "${text}": ${FORMAT_HINT}`);
  const unit = (match[2]?.toLowerCase() ?? 's') as keyof typeof UNIT_SECONDS;
  const seconds = Math.round(Number(match[1]) * UNIT_SECONDS[unit]);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`invalid ${flag} "${text}": must be positive`);
  if (seconds < limits.min) throw new Error(`${flag} "${text}" is too short: at least ${formatSeconds(limits.min)}`);
  if (seconds > limits.max) throw new Error(`${flag} "${text}" is too long: at most ${formatSeconds(limits.max)}`);
  return seconds;
}

/** "45s", "3m 12s", "2h", "1h 05m", "7d", "1d 2h": compact, largest two units. */
export function formatSeconds(total: number): string {
  if (total > 0 && total < 0.5) return '<1s';
  const seconds = Math.max(0, Math.round(total));
  if (seconds < 60) return `${seconds}s`;
  const parts: Array<[number, string]> = [
    [Math.floor(seconds / 86_400), 'd'],
    [Math.floor((seconds % 86_400) / 3600), 'h'],
    [Math.floor((seconds % 3600) / 60), 'm'],
    [seconds % 60, 's'],
  ];
  const first = parts.findIndex(([value]) => value > 0);
  const [major, majorUnit] = parts[first];
  const next = parts[first + 1];
  if (!next || next[0] === 0) return `${major}${majorUnit}`;
  const pad = next[1] === 'm' || next[1] === 's' ? String(next[0]).padStart(2, '0') : String(next[0]);
  return `${major}${majorUnit} ${pad}${next[1]}`;
}
