const UNIT_MS = {
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
} as const;

const FORMAT_HINT = 'use a duration (12h, 30d, 8w, 1y), a date (2026-12-31), an ISO time or "never"';

/**
 * Parses `--expires`: a duration from now (30d), a UTC date (2026-12-31 means the start
 * of that day, UTC), an ISO 8601 time, or "never" (null). Throws on anything else or a
 * time that is not in the future; yargs reports the message as a usage error.
 */
export function parseExpires(input: string, now: Date = new Date()): Date | null {
  const text = input.trim();
  if (text.toLowerCase() === 'never') return null;
  const expiresAt = parseMoment(text, now);
  if (!expiresAt) throw new Error(`invalid --expires "${input}": ${FORMAT_HINT}`);
  if (expiresAt.getTime() <= now.getTime()) throw new Error(`--expires "${input}" is not in the future`);
  return expiresAt;
}

function parseMoment(text: string, now: Date): Date | undefined {
  const duration = /^(\d+)\s*([hdwy])$/i.exec(text);
  if (duration) {
    const unit = duration[2].toLowerCase() as keyof typeof UNIT_MS;
    return new Date(now.getTime() + Number(duration[1]) * UNIT_MS[unit]);
  }
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (day) {
    const [year, month, date] = [Number(day[1]), Number(day[2]), Number(day[3])];
    const result = new Date(Date.UTC(year, month - 1, date));
    // Date.UTC rolls 2026-02-30 over to March; reject instead of guessing.
    const valid = result.getUTCFullYear() === year && result.getUTCMonth() === month - 1 && result.getUTCDate() === date;
    return valid ? result : undefined;
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(text)) {
    const result = new Date(text);
    return Number.isNaN(result.getTime()) ? undefined : result;
  }
  return undefined;
}
