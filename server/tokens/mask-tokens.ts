import { TOKEN_PREFIXES, TokenFormat, checksumMatches } from './token-format';

export const REDACTED = '[REDACTED]';

const { lookup: LOOKUP_LENGTH, secret: SECRET_LENGTH, checksum: CHECKSUM_LENGTH } = TokenFormat.lengths;
/** What follows `<prefix>_<lookup>_`: the secret and its checksum. */
const TAIL_LENGTH = SECRET_LENGTH + CHECKSUM_LENGTH;
/**
 * A token cut shorter than this after its lookup id is left alone: it shows less than 8 of
 * the 38 characters after the id, so over 140 of the secret's 190 bits stay unknown, and
 * ordinary identifiers (`visit_confirmation_page`) are not mistaken for tokens.
 */
const MIN_MASKED_TAIL = 8;

const BASE62 = '[0-9A-Za-z]';
const PREFIX = `(?:${TOKEN_PREFIXES.join('|')})`;
const HEAD = `${PREFIX}_${BASE62}{${LOOKUP_LENGTH}}_`;
/** A base62 character that does not start another token's head: text glued to a whole token must not swallow its prefix. */
const TAIL_CHAR = `(?:(?!${HEAD})${BASE62})`;
/** Where a credential ends in free text, JSON, a query string or a header list. */
const CREDENTIAL = '[^\\s"\'`,;&\\\\]+';
const SPACE = '(?:\\s+|%20)';
/** `+` too: a space in a form-encoded body. Not after a header's scheme word, where it may be part of a base64 value. */
const BEARER_SPACE = '(?:\\s+|%20|\\+)';

const PATTERN = new RegExp(
  [
    // No word boundaries: `1vk_`, `Xvk_`, `apikey_vk_`, `%20vk_` and a JSON-escaped `\nvk_` are all tokens.
    `(?<head>${HEAD})(?<tail>${TAIL_CHAR}{${MIN_MASKED_TAIL},})`,
    // A token whose head was cut off (the start of a kept tail of text): the 38 characters after its last `_`.
    `_(?<orphan>${TAIL_CHAR}{${TAIL_LENGTH}})(?!${TAIL_CHAR})`,
    `(?<header>[Aa]uthorization|AUTHORIZATION)(?<separator>\\\\?["']?\\s*[:=]\\s*\\\\?["']?)(?<scheme>[A-Za-z]+${SPACE})?(?<headerCredential>${CREDENTIAL})`,
    `(?<bearer>[Bb]earer${BEARER_SPACE})(?<bearerCredential>${CREDENTIAL})`,
  ].join('|'),
  'g',
);

/**
 * Masks everything in `text` shaped like one of our tokens or like a credential, wherever it
 * stands (no word boundaries), in one linear pass:
 * - `<prefix>_<lookup>_` followed by at least 8 base62 characters (see TOKEN_PREFIXES): the
 *   lookup id stays (it is not secret; `mp keys list` shows it), the rest becomes [REDACTED].
 *   When the 38 characters after the id carry a valid checksum the token is certain and ends
 *   there, so what follows it (`vk_..._old`, `vk_...abc`) is kept; otherwise (a mistyped, cut
 *   or padded token) the whole run of base62 characters is masked.
 * - `_` and exactly 38 base62 characters: a token whose start was cut off;
 * - the value of an `Authorization:` / `authorization=` / `"authorization":"..."` (its scheme word kept);
 * - the value after `Bearer ` (also `Bearer%20` and `Bearer+`, as URL- and form-encoded).
 */
export function maskTokens(text: string): string {
  PATTERN.lastIndex = 0;
  let masked = '';
  let copied = 0;
  for (let match = PATTERN.exec(text); match !== null; match = PATTERN.exec(text)) {
    masked += text.slice(copied, match.index) + replacementOf(match.groups ?? {});
    copied = match.index + match[0].length;
  }
  return copied === 0 ? text : masked + text.slice(copied);
}

function replacementOf(groups: Record<string, string | undefined>): string {
  const { head, tail, orphan, header, separator, scheme, bearer } = groups;
  if (head !== undefined && tail !== undefined) {
    const certain = tail.length >= TAIL_LENGTH && checksumMatches(head + tail.slice(0, TAIL_LENGTH));
    return head + REDACTED + (certain ? tail.slice(TAIL_LENGTH) : '');
  }
  if (orphan !== undefined) return `_${REDACTED}`;
  if (header !== undefined) return `${header}${separator ?? ''}${scheme ?? ''}${REDACTED}`;
  return `${bearer ?? ''}${REDACTED}`;
}
