import { crc32 } from 'node:zlib';
import { encodeBase62, randomBase62 } from '../db/ids';

const LOOKUP_LENGTH = 12;
const SECRET_LENGTH = 32;
const CHECKSUM_LENGTH = 6;

export interface GeneratedToken {
  /** Not secret: finds the stored hash without scanning. */
  lookup: string;
  /** The whole token, shown once. */
  token: string;
}

export type ParsedToken = { ok: true; lookup: string } | { ok: false; reason: string };

/**
 * The prefix of every kind of token we hand out. Masking (mask-tokens.ts) looks for exactly
 * these, so a new kind of token has to be named here, and is masked from its first day.
 */
export const TOKEN_PREFIXES = ['vk', 'sit', 'ic', 'mps'] as const;
export type TokenPrefix = (typeof TOKEN_PREFIXES)[number];

/**
 * Every prefixed secret we hand out: `<prefix>_<lookup>_<secret><checksum>`.
 * - lookup: 12 base62 characters, not secret, finds the stored hash without scanning;
 * - secret: 32 base62 characters (about 190 bits) of randomness;
 * - checksum: CRC32 of everything before it, 6 base62 characters, so a mistyped or
 *   truncated token is rejected before any database or hashing work (as GitHub's tokens do).
 */
export class TokenFormat {
  static readonly lengths = { lookup: LOOKUP_LENGTH, secret: SECRET_LENGTH, checksum: CHECKSUM_LENGTH };
  private readonly pattern: RegExp;

  /** `prefix` such as `vk`; `noun` and `short` name the token in messages ("API key", "key"). */
  constructor(
    readonly prefix: TokenPrefix,
    private readonly noun: string,
    private readonly short: string,
  ) {
    this.pattern = new RegExp(`^${prefix}_([0-9A-Za-z]{${LOOKUP_LENGTH}})_([0-9A-Za-z]{${SECRET_LENGTH}})([0-9A-Za-z]{${CHECKSUM_LENGTH}})$`);
  }

  generate(): GeneratedToken {
    const lookup = randomBase62(LOOKUP_LENGTH);
    const body = `${this.prefix}_${lookup}_${randomBase62(SECRET_LENGTH)}`;
    return { lookup, token: body + checksumOf(body) };
  }

  /** Whether `token` has this format's prefix at all (so another format may be tried). */
  owns(token: string): boolean {
    return token.startsWith(`${this.prefix}_`);
  }

  parse(token: string): ParsedToken {
    if (!this.owns(token)) return { ok: false, reason: `not a marketplace ${this.noun} (${this.short}s start with ${this.prefix}_)` };
    const match = this.pattern.exec(token);
    if (!match) return { ok: false, reason: `malformed ${this.noun}: check that you copied the whole ${this.short}` };
    if (!checksumMatches(token)) {
      return { ok: false, reason: `malformed ${this.noun} (checksum mismatch): check that you copied the whole ${this.short}` };
    }
    return { ok: true, lookup: match[1] };
  }

  /** What lists show: enough to recognise a token, nothing that helps guess it. */
  displayPrefix(lookup: string): string {
    return `${this.prefix}_${lookup}_…`;
  }
}

/** Whether the last CHECKSUM_LENGTH characters of `token` are the checksum of the rest (prefix included). */
export function checksumMatches(token: string): boolean {
  return token.length > CHECKSUM_LENGTH && checksumOf(token.slice(0, -CHECKSUM_LENGTH)) === token.slice(-CHECKSUM_LENGTH);
}

function checksumOf(body: string): string {
  return encodeBase62(crc32(body), CHECKSUM_LENGTH);
}
