import { GraphQLClient } from './client';
import { DEFAULT_API_URL, configFilePath, normalizeApiUrl, readConfigFile } from './config';
import type { StoredConfig } from './config';
import { notLoggedIn } from './errors';
import { sameServer } from './server-identity';
import type { GlobalArgs } from './global-options';
import type { Io } from './io';
import type { SubscriptionTarget } from './subscribe';

export type ApiKeySource = 'MP_API_KEY' | 'config file';

/** Which server to talk to and with which key, from flags, environment and the config file. */
export interface Session {
  apiUrl: string;
  apiKey?: string;
  apiKeySource?: ApiKeySource;
  configFile: string;
  config: StoredConfig;
  /** The URL a key was saved for by `mp login`, when that is another server than apiUrl. */
  keySavedFor?: string;
}

/**
 * URL: --api-url, then MP_API_URL, then the config file, then the default.
 * Key: MP_API_KEY, then the config file, but a saved key is only sent to the server it was
 * saved for (however its URL is spelled: localhost or 127.0.0.1, :443 or none), so pointing
 * --api-url elsewhere never leaks it to another server.
 */
export function resolveSession(args: Pick<GlobalArgs, 'apiUrl'>, env: NodeJS.ProcessEnv): Session {
  const configFile = configFilePath(env);
  const config = readConfigFile(configFile);
  const savedUrl = config.apiUrl ? normalizeApiUrl(config.apiUrl) : undefined;
  const apiUrl = normalizeApiUrl(args.apiUrl || env.MP_API_URL || savedUrl || DEFAULT_API_URL);
  if (env.MP_API_KEY) return { apiUrl, apiKey: env.MP_API_KEY.trim(), apiKeySource: 'MP_API_KEY', configFile, config };
  if (config.apiKey && savedUrl && sameServer(savedUrl, apiUrl)) {
    return { apiUrl, apiKey: config.apiKey, apiKeySource: 'config file', configFile, config };
  }
  return { apiUrl, configFile, config, keySavedFor: config.apiKey ? savedUrl : undefined };
}

export type Auth = 'required' | 'none';

/** With --verbose, one `* ...` line on stderr per request and connection event. */
export function verboseLog(args: GlobalArgs, io: Io): ((line: string) => void) | undefined {
  return args.verbose ? (line) => io.stderr.write(`* ${line}\n`) : undefined;
}

/** Where a subscription connects, with the session's key. */
export function subscriptionTarget(session: Session, args: GlobalArgs, io: Io): SubscriptionTarget {
  return { apiUrl: session.apiUrl, apiKey: session.apiKey, log: verboseLog(args, io) };
}

/** A client for the session; with auth 'required' and no key it fails with exit 3 before any request. */
export function connect(session: Session, args: GlobalArgs, io: Io, auth: Auth): GraphQLClient {
  if (auth === 'required' && !session.apiKey) throw notLoggedIn(session.apiUrl, session.keySavedFor);
  return new GraphQLClient({
    apiUrl: session.apiUrl,
    apiKey: auth === 'required' ? session.apiKey : undefined,
    unauthenticatedHint: session.apiKeySource === 'MP_API_KEY' ? 'The key comes from MP_API_KEY: set a valid one or unset it.' : undefined,
    log: verboseLog(args, io),
  });
}
