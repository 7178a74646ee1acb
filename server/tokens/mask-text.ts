import { maskTokens } from './mask-tokens';
import type { SecretValues } from './secret-values';

/**
 * Everything masked in text that leaves the server (its log, training logs, failure reasons):
 * the exact secret values first, so each goes whole before any token-shaped part of it could
 * be rewritten, then anything shaped like a token or a credential.
 */
export function maskText(text: string, secrets: SecretValues): string {
  return maskTokens(secrets.mask(text));
}
