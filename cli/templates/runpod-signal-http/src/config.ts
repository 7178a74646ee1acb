/**
 * Every environment variable the endpoint reads, parsed once. An empty variable counts as unset.
 *
 *   PORT                  where to listen (default 8080; 0 picks a free port)
 *   HOST                  which address to listen on (default 0.0.0.0, every interface, as a pod needs)
 *   MP_MODEL_PATH         a model.json on this machine, as runpod-signal-train writes it
 *   MP_MODEL_URL          or an http(s) URL to download it from
 *   MP_MODEL_SHA256       the sha256 the model file must have (checked for either source)
 *   MP_API_URL            the marketplace (heartbeats go to MP_API_URL/graphql)
 *   MP_DEPLOYMENT_TOKEN   the deployment's token (sit_...), for heartbeats and signal writes
 *   MP_HEARTBEAT_SECONDS  between heartbeats (default 10)
 *   MP_SIGNALS_URL        where every answered inference is written as a signal (default: nowhere)
 *   MP_MAX_CONCURRENT     inference requests handled at once before answering 503 BUSY (default 64)
 *   RUNPOD_POD_ID         set by RunPod inside a pod; reported in heartbeats
 */

/** A variable has a value this program cannot use: it exits with code 2 and this message. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export type ModelSourceConfig = { kind: 'path'; path: string } | { kind: 'url'; url: URL } | { kind: 'built-in' };

export interface HeartbeatConfig {
  /** The GraphQL endpoint: MP_API_URL with /graphql appended when missing. */
  graphqlUrl: URL;
  intervalMs: number;
  token: string;
}

export interface EndpointConfig {
  port: number;
  host: string;
  model: ModelSourceConfig;
  /** Lower-case hex, or null when the file is not checked. */
  modelSha256: string | null;
  token: string | null;
  /** Null unless both MP_API_URL and MP_DEPLOYMENT_TOKEN are set. */
  heartbeat: HeartbeatConfig | null;
  signalsUrl: URL | null;
  maxConcurrent: number;
  podId: string | null;
  /** Settings that do nothing on their own, for the log. */
  warnings: string[];
}

function value(env: NodeJS.ProcessEnv, name: string): string | null {
  const raw = env[name]?.trim();
  return raw ? raw : null;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = value(env, name);
  if (raw === null) return fallback;
  const parsed = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new ConfigError(`${name} is "${raw}": it must be a whole number from ${min} to ${max}`);
  }
  return parsed;
}

export function httpUrl(raw: string, name: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`${name} must be an http or https URL (it is ${url.protocol})`);
  return url;
}

function graphqlUrl(apiUrl: string): URL {
  const url = httpUrl(apiUrl, 'MP_API_URL');
  const trimmed = url.pathname.replace(/\/+$/, '');
  url.pathname = trimmed.endsWith('/graphql') ? trimmed : `${trimmed}/graphql`;
  return url;
}

function modelSource(env: NodeJS.ProcessEnv): ModelSourceConfig {
  const file = value(env, 'MP_MODEL_PATH');
  const url = value(env, 'MP_MODEL_URL');
  if (file !== null && url !== null) throw new ConfigError('set MP_MODEL_PATH or MP_MODEL_URL, not both');
  if (file !== null) return { kind: 'path', path: file };
  if (url !== null) return { kind: 'url', url: httpUrl(url, 'MP_MODEL_URL') };
  return { kind: 'built-in' };
}

function heartbeatSeconds(env: NodeJS.ProcessEnv): number {
  const raw = value(env, 'MP_HEARTBEAT_SECONDS');
  if (raw === null) return 10;
  const seconds = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(seconds >= 0.1 && seconds <= 3600)) throw new ConfigError(`MP_HEARTBEAT_SECONDS is "${raw}": it must be a number of seconds from 0.1 to 3600`);
  return seconds;
}

export function readConfig(env: NodeJS.ProcessEnv): EndpointConfig {
  const sha = value(env, 'MP_MODEL_SHA256');
  if (sha !== null && !/^[0-9a-fA-F]{64}$/.test(sha)) throw new ConfigError('MP_MODEL_SHA256 must be 64 hexadecimal characters');
  const apiUrl = value(env, 'MP_API_URL');
  const token = value(env, 'MP_DEPLOYMENT_TOKEN');
  const signals = value(env, 'MP_SIGNALS_URL');
  const intervalMs = Math.round(heartbeatSeconds(env) * 1000);
  const warnings: string[] = [];
  if ((apiUrl === null) !== (token === null)) {
    warnings.push(
      `${apiUrl === null ? 'MP_DEPLOYMENT_TOKEN' : 'MP_API_URL'} is set without ${apiUrl === null ? 'MP_API_URL' : 'MP_DEPLOYMENT_TOKEN'}: no heartbeats are sent`,
    );
  }
  if (signals !== null && token === null) warnings.push('MP_SIGNALS_URL is set without MP_DEPLOYMENT_TOKEN: signals are written without a token');
  return {
    port: integer(env, 'PORT', 8080, 0, 65535),
    host: value(env, 'HOST') ?? '0.0.0.0',
    model: modelSource(env),
    modelSha256: sha?.toLowerCase() ?? null,
    token,
    heartbeat: apiUrl !== null && token !== null ? { graphqlUrl: graphqlUrl(apiUrl), intervalMs, token } : null,
    signalsUrl: signals === null ? null : httpUrl(signals, 'MP_SIGNALS_URL'),
    maxConcurrent: integer(env, 'MP_MAX_CONCURRENT', 64, 1, 100_000),
    podId: value(env, 'RUNPOD_POD_ID'),
    warnings,
  };
}

/** Where a URL points without what may be secret in it (a signed path, a query): for log lines. */
export function redactUrl(url: URL): string {
  return `${url.origin}/…`;
}
