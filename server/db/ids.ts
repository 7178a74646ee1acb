import { randomBytes } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `length` uniformly random base62 characters (rejection sampling, no modulo bias). */
export function randomBase62(length: number): string {
  let result = '';
  while (result.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) result += BASE62[byte % 62];
      if (result.length === length) break;
    }
  }
  return result;
}

export function encodeBase62(value: number, width: number): string {
  let result = '';
  let rest = value;
  for (let i = 0; i < width; i++) {
    result = BASE62[rest % 62] + result;
    rest = Math.floor(rest / 62);
  }
  return result;
}

/** A new object id: `<prefix>_<16 base62>`. Each module owns its prefixes (see its index.ts), which tell `node(id)` the type. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBase62(16)}`;
}

/** The prefix of an id (`ven` for `ven_...`), or undefined for text without one. */
export function idPrefixOf(id: string): string | undefined {
  const at = id.indexOf('_');
  return at > 0 ? id.slice(0, at) : undefined;
}
