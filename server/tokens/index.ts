/**
 * Tokens: one construction for every prefixed secret we hand out (`vk_` API keys, `sit_`
 * deployment tokens, `ic_` infrastructure client secrets).
 * - `token-format.ts`: `<prefix>_<lookup>_<secret><checksum>`, generated and parsed; garbage is
 *   refused by its checksum before any database or hashing work.
 * - `secret-hash.ts`: argon2id with the OWASP parameters; only hashes are stored.
 * - `validation-cache.ts`: results by SHA-256 of the token, bounded by TTL and expiry, one
 *   validation for concurrent requests, and revocation on every process at once (NOTIFY).
 * - `mask-tokens.ts`: masks text shaped like a token (by the format's prefixes, lengths and
 *   checksum, not by word boundaries) or like a credential (`Bearer ...`, `Authorization: ...`);
 *   `secret-values.ts` masks exact configured secrets; `mask-text.ts` applies both.
 * The owner of a kind of token (identity for API keys) looks its rows up and decides its standing.
 */
export { TOKEN_PREFIXES, TokenFormat, type GeneratedToken, type ParsedToken, type TokenPrefix } from './token-format';
export { REDACTED, maskTokens } from './mask-tokens';
export { SecretValues } from './secret-values';
export { maskText } from './mask-text';
export { hashSecret, verifySecret } from './secret-hash';
export { ValidationCache, type Credential, type Revocation, type Validation, type ValidationCacheOptions } from './validation-cache';
