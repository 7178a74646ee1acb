/** Process exit codes; docs/cli.md documents the same table. */
export const ExitCode = {
  OK: 0,
  UNEXPECTED: 1,
  USAGE: 2,
  AUTH: 3,
  NOT_FOUND: 4,
  INVALID: 5,
  UNREACHABLE: 6,
  JOB_FAILED: 7,
  /** Ctrl-C at a prompt, as a shell reports SIGINT. */
  INTERRUPTED: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface CliErrorOptions {
  /** A next step, printed on its own line after the message. */
  hint?: string;
  /** Extra lines, e.g. one per invalid field. */
  details?: string[];
  /** Shown for INTERNAL errors, and for every error with --verbose. */
  requestId?: string;
  cause?: unknown;
}

/** An error meant for the user: its message is printed as `mp: <message>` and its code is the exit status. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly hint?: string;
  readonly details: string[];
  readonly requestId?: string;

  constructor(message: string, exitCode: ExitCode, options: CliErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.hint = options.hint;
    this.details = options.details ?? [];
    this.requestId = options.requestId;
  }
}

export const LOGIN_HINT = 'Run `mp login` to sign in again.';

/** No key for `apiUrl`; when `mp login` saved one for another server, says which. */
export function notLoggedIn(apiUrl?: string, keySavedFor?: string): CliError {
  if (apiUrl && keySavedFor) {
    return new CliError(`not logged in to ${apiUrl}: the saved key is for ${keySavedFor}`, ExitCode.AUTH, {
      hint: `Run \`mp login --api-url ${apiUrl}\` to save a key for this server, or pass --api-url ${keySavedFor}.`,
    });
  }
  return new CliError('not logged in: run `mp login` or set MP_API_KEY', ExitCode.AUTH);
}

export function usageError(message: string, hint?: string): CliError {
  return new CliError(message, ExitCode.USAGE, { hint });
}

/** One entry of a GraphQL response's `errors`, as our server (Apollo) sends it. */
export interface GraphQLErrorPayload {
  message: string;
  path?: ReadonlyArray<string | number>;
  extensions?: {
    code?: string;
    fields?: ReadonlyArray<{ field: string; message: string }>;
    retryAfter?: number;
    requestId?: string;
    [key: string]: unknown;
  };
}

/** Maps a GraphQL error's `extensions.code` to an exit code and the words the user sees. */
export function cliErrorFromGraphQL(error: GraphQLErrorPayload, clientRequestId: string): CliError {
  const extensions = error.extensions ?? {};
  const requestId = extensions.requestId ?? clientRequestId;
  const message = error.message || 'the server returned an error without a message';
  switch (extensions.code) {
    case 'UNAUTHENTICATED':
      return new CliError(message, ExitCode.AUTH, { hint: LOGIN_HINT, requestId });
    case 'FORBIDDEN':
      return new CliError(message, ExitCode.AUTH, { requestId });
    case 'NOT_FOUND':
      return new CliError(message, ExitCode.NOT_FOUND, { requestId });
    case 'BAD_USER_INPUT': {
      // A single invalid field often is the message itself; don't print it twice.
      const details = (extensions.fields ?? []).map((f) => `${f.field}: ${f.message}`).filter((d) => d !== message);
      return new CliError(message, ExitCode.INVALID, { details, requestId });
    }
    case 'CONFLICT':
    case 'PRECONDITION_FAILED':
      return new CliError(message, ExitCode.INVALID, { requestId });
    case 'RATE_LIMITED': {
      const wait = extensions.retryAfter;
      const hint = typeof wait === 'number' ? `Retry in ${wait} s.` : 'Retry later.';
      return new CliError(message, ExitCode.INVALID, { hint, requestId });
    }
    case 'GRAPHQL_PARSE_FAILED':
    case 'GRAPHQL_VALIDATION_FAILED':
      return new CliError(`the server rejected the request: ${message}`, ExitCode.UNEXPECTED, {
        hint: 'The CLI and the server versions may not match; update mp.',
        requestId,
      });
    case 'INTERNAL':
    case 'INTERNAL_SERVER_ERROR':
      return new CliError(`${message} (request id ${requestId})`, ExitCode.UNEXPECTED, { requestId });
    default:
      return new CliError(message, ExitCode.UNEXPECTED, { requestId });
  }
}

const NOT_TLS = 'the server does not speak TLS there (use http:// if it serves plain HTTP)';

const UNREACHABLE_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found (DNS lookup failed)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  EPIPE: 'connection closed',
  UND_ERR_SOCKET: 'the server closed the connection',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_HEADERS_TIMEOUT: 'timed out waiting for the response',
  UND_ERR_BODY_TIMEOUT: 'timed out reading the response',
  CERT_HAS_EXPIRED: 'TLS certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate cannot be verified',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS certificate chain is self-signed',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'TLS certificate is signed by an unknown authority',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate is not for this host name',
  ERR_SSL_WRONG_VERSION_NUMBER: NOT_TLS,
};

/**
 * OpenSSL's own text ("write EPROTO 80DC...:error:0A00010B:SSL routines:ssl3_get_record:wrong
 * version number:../deps/openssl/...") as words: `undefined` when `error` is no TLS failure.
 */
function tlsReason(error: Error): string | undefined {
  const { message } = error;
  const openssl = /SSL routines:[^:]*:([^:]+)/.exec(message);
  if (!openssl && !/^ERR_(SSL|TLS)_/.test(String((error as NodeJS.ErrnoException).code))) return undefined;
  const reason = (openssl?.[1] ?? message).trim().toLowerCase();
  // A plain-HTTP server answers the ClientHello with "HTTP/1.1 400 ...", which OpenSSL reads as a bad record.
  if (/wrong version number|packet length too long|http request|record layer failure/.test(reason)) return NOT_TLS;
  return `TLS handshake failed (${reason})`;
}

/**
 * Walks `error.cause` (undici nests the socket error there, sometimes in an AggregateError)
 * for a known system error code; else returns the innermost message ("bad port", ...).
 */
export function unreachableReason(error: unknown): string {
  let current: unknown = error;
  let innermost = error instanceof Error ? error.message : String(error);
  for (let depth = 0; depth < 5 && current instanceof Error; depth += 1) {
    const candidates = current instanceof AggregateError ? [current, ...current.errors] : [current];
    for (const candidate of candidates) {
      const code = (candidate as NodeJS.ErrnoException | undefined)?.code;
      if (typeof code === 'string' && code in UNREACHABLE_CODES) return UNREACHABLE_CODES[code];
      const tls = candidate instanceof Error ? tlsReason(candidate) : undefined;
      if (tls) return tls;
    }
    innermost = current.message || innermost;
    current = current.cause;
  }
  return innermost;
}

/** A failure of fetch() itself: nothing came back from `url`. */
export function cliErrorFromNetwork(error: unknown, url: string, timeoutMs: number): CliError {
  const name = typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new CliError(`cannot reach ${url}: no answer within ${timeoutMs / 1000} s`, ExitCode.UNREACHABLE, {
      cause: error,
    });
  }
  return new CliError(`cannot reach ${url}: ${unreachableReason(error)}`, ExitCode.UNREACHABLE, { cause: error });
}

/** The URL answered, but not like a GraphQL API (an HTML 404 page, a proxy error, ...). */
export function notOurApi(url: string, status: number): CliError {
  return new CliError(`no marketplace API at ${url} (HTTP ${status})`, ExitCode.UNREACHABLE);
}
