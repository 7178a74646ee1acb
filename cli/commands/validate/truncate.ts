/** The first `max` characters (code points, so that no emoji is split) of `text`, and whether that is all of it. */
export function truncate(text: string, max: number): { text: string; truncated: boolean } {
  if (text.length <= max) return { text, truncated: false };
  // A code point is at most two UTF-16 units: never spread a body of megabytes into an array.
  const chars = Array.from(text.slice(0, 2 * max + 1));
  return chars.length <= max ? { text, truncated: false } : { text: chars.slice(0, max).join(''), truncated: true };
}
