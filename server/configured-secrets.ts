import type { DatabaseConfig, ServerConfig } from './config';
import { loadSigningSecret } from './storage/url-signer';

/**
 * The secret values of the configuration, for masking: MP_SIGNING_SECRET, RUNPOD_API_KEY and
 * the DATABASE_URL password (as written in the URL, percent-encoded or not, and decoded).
 */
export function secretsInConfig(config: ServerConfig): string[] {
  return [config.signingSecret, config.runpodApiKey, ...passwordsIn(config.database)].filter(
    (secret): secret is string => secret !== undefined && secret !== '',
  );
}

/**
 * secretsInConfig and the signing secret in use: MP_SIGNING_SECRET, or the one generated into
 * MP_DATA_DIR (created there when missing, as the storage would a moment later).
 */
export async function configuredSecrets(config: ServerConfig): Promise<string[]> {
  const signingSecret = await loadSigningSecret({ secret: config.signingSecret, dataDir: config.dataDir });
  return [...new Set([...secretsInConfig(config), signingSecret.toString('utf8')])];
}

/** `postgres://user:<password>@host/db`, and libpq's `?password=`. */
function passwordsIn(database: DatabaseConfig): string[] {
  if (database.kind !== 'postgres') return [];
  let url: URL;
  try {
    url = new URL(database.url);
  } catch {
    return [];
  }
  const written = [url.password, url.searchParams.get('password') ?? ''].filter(Boolean);
  return written.flatMap((password) => [password, decoded(password)]);
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
