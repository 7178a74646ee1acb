/**
 * Text PostgreSQL cannot store or compare: a NUL character, or half of a UTF-16 surrogate pair.
 * Returns what is wrong with `text`, or null when it is fine.
 */
// eslint-disable-next-line no-control-regex -- the NUL character is what we look for
const UNUSABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function unusableTextProblem(text: string): string | null {
  const match = UNUSABLE.exec(text);
  if (!match) return null;
  return match[0] === '\u0000'
    ? 'contains a NUL character (\\u0000), which text cannot hold'
    : 'contains half of a UTF-16 surrogate pair (not valid Unicode text)';
}
