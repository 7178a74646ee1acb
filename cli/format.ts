/** How dates, sizes and empty values look in human output (JSON output keeps the raw values). */

/** "812 B", "12.3 kB", "40.1 MB", "1.25 GB": decimal units, as disk and network tools show them. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1000) return `${Math.max(0, Math.round(bytes || 0))} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 'B';
  for (const next of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = next;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${unit}`;
}

/** "8.2 MB/s". */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** "12 ms", "4.9 s", "2 min 05 s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`;
}

export function formatDate(iso: string | null | undefined, empty = '-'): string {
  return iso ? iso.slice(0, 10) : empty;
}

export function formatDateTime(iso: string | null | undefined, empty = '-'): string {
  if (!iso) return empty;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

const UNITS: ReadonlyArray<readonly [string, number]> = [
  ['year', 365 * 86_400_000],
  ['month', 30 * 86_400_000],
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
];

/** "in 3 days", "5 hours ago", "just now". */
export function formatRelative(iso: string, now: Date = new Date()): string {
  const delta = new Date(iso).getTime() - now.getTime();
  const distance = Math.abs(delta);
  for (const [unit, ms] of UNITS) {
    if (distance >= ms) {
      const count = Math.round(distance / ms);
      const phrase = `${count} ${unit}${count === 1 ? '' : 's'}`;
      return delta > 0 ? `in ${phrase}` : `${phrase} ago`;
    }
  }
  return 'just now';
}

/** "2026-12-31 00:00 UTC (in 36 days)". */
export function formatDateTimeWithRelative(iso: string | null | undefined, empty: string, now?: Date): string {
  return iso ? `${formatDateTime(iso)} (${formatRelative(iso, now)})` : empty;
}

const ELLIPSIS = /(…|\.\.\.)$/;

/** A key prefix as shown to users: the server may already end it with an ellipsis. */
export function formatKeyPrefix(prefix: string): string {
  return ELLIPSIS.test(prefix) ? prefix : `${prefix}…`;
}

/** Whether a full key starts with a (possibly ellipsised) prefix. */
export function keyMatchesPrefix(key: string, prefix: string): boolean {
  const bare = prefix.replace(ELLIPSIS, '');
  return bare.length > 0 && key.startsWith(bare);
}
