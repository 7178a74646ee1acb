import { crc32 } from 'node:zlib';
import { encodeBase62, randomBase62 } from '../../db/ids';

/**
 * Vendor API keys: `vk_<lookup>_<secret><checksum>`.
 * - lookup: 12 base62 characters, not secret, finds the stored hash without scanning;
 * - secret: 32 base62 characters (about 190 bits) of randomness;
 * - checksum: CRC32 of everything before it, 6 base62 characters, so a mistyped or
 *   truncated key is rejected before any database or hashing work (as GitHub's tokens do).
 */
export const API_KEY_PREFIX = 'vk';
const LOOKUP_LENGTH = 12;
const SECRET_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
const TOKEN_PATTERN = /^vk_([0-9A-Za-z]{12})_([0-9A-Za-z]{32})([0-9A-Za-z]{6})$/;

export interface GeneratedApiKey {
  lookup: string;
  token: string;
}

export type ParsedApiKey = { ok: true; lookup: string } | { ok: false; reason: string };

export function generateApiKey(): GeneratedApiKey {
  const lookup = randomBase62(LOOKUP_LENGTH);
  const body = `${API_KEY_PREFIX}_${lookup}_${randomBase62(SECRET_LENGTH)}`;
  return { lookup, token: body + checksumOf(body) };
}

export function parseApiKey(token: string): ParsedApiKey {
  if (!token.startsWith(`${API_KEY_PREFIX}_`)) {
    return { ok: false, reason: 'not a marketplace API key (keys start with vk_)' };
  }
  const match = TOKEN_PATTERN.exec(token);
  if (!match) return { ok: false, reason: 'malformed API key: check that you copied the whole key' };
  const body = token.slice(0, token.length - CHECKSUM_LENGTH);
  if (checksumOf(body) !== token.slice(-CHECKSUM_LENGTH)) {
    return { ok: false, reason: 'malformed API key (checksum mismatch): check that you copied the whole key' };
  }
  return { ok: true, lookup: match[1] };
}

/** What lists show: enough to recognise a key, nothing that helps guess it. */
export function displayPrefix(lookup: string): string {
  return `${API_KEY_PREFIX}_${lookup}_…`;
}

function checksumOf(body: string): string {
  return encodeBase62(crc32(body), CHECKSUM_LENGTH);
}

export const API_KEY_LENGTHS = { lookup: LOOKUP_LENGTH, secret: SECRET_LENGTH, checksum: CHECKSUM_LENGTH };
