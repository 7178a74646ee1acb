import { randomUUID } from 'node:crypto';
import type { TypedDocumentString } from '../generated/cli-operations';
import { CliError, ExitCode, cliErrorFromGraphQL, cliErrorFromNetwork, notOurApi } from './errors';
import type { GraphQLErrorPayload } from './errors';
import { REQUEST_TIMEOUT_MS } from './config';
import { httpRequest } from './http-request';

export interface GraphQLClientOptions {
  /** The full endpoint, already normalised (ends in /graphql). */
  apiUrl: string;
  apiKey?: string;
  timeoutMs?: number;
  /** Replaces the default "run mp login" hint on UNAUTHENTICATED, e.g. when the key came from MP_API_KEY. */
  unauthenticatedHint?: string;
  /** Receives one line per request and response (used by --verbose). */
  log?: (line: string) => void;
}

interface GraphQLResponseBody {
  data?: unknown;
  errors?: GraphQLErrorPayload[];
}

function isGraphQLResponseBody(value: unknown): value is GraphQLResponseBody {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const body = value as Record<string, unknown>;
  return 'data' in body || Array.isArray(body.errors);
}

function operationName(query: string): string | undefined {
  return /\b(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)/.exec(query)?.[1];
}

/** GraphQL over HTTP POST; every call gets its own X-Request-Id. */
export class GraphQLClient {
  readonly apiUrl: string;
  private readonly options: GraphQLClientOptions;

  constructor(options: GraphQLClientOptions) {
    this.apiUrl = options.apiUrl;
    this.options = options;
  }

  async request<TResult, TVariables>(document: TypedDocumentString<TResult, TVariables>, variables: TVariables): Promise<TResult> {
    const query = document.toString();
    const requestId = randomUUID();
    const timeoutMs = this.options.timeoutMs ?? REQUEST_TIMEOUT_MS;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      'x-request-id': requestId,
    };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const log = this.options.log;
    const name = operationName(query);
    log?.(`POST ${this.apiUrl} ${name ?? ''} (request id ${requestId})`);
    const started = Date.now();

    let status: number;
    let contentType: string;
    let text: string;
    try {
      const response = await httpRequest(this.apiUrl, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query, variables, operationName: name }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = response.status;
      contentType = response.headers['content-type'] ?? '';
      text = await response.text();
    } catch (error) {
      throw cliErrorFromNetwork(error, this.apiUrl, timeoutMs);
    }
    log?.(`HTTP ${status} in ${Date.now() - started} ms (request id ${requestId})`);

    const body = contentType.includes('json') ? parseJson(text) : undefined;
    if (!isGraphQLResponseBody(body)) throw notOurApi(this.apiUrl, status);

    const firstError = body.errors?.[0];
    if (firstError) {
      const error = cliErrorFromGraphQL(firstError, requestId);
      if (firstError.extensions?.code === 'UNAUTHENTICATED' && this.options.unauthenticatedHint) {
        throw new CliError(error.message, error.exitCode, {
          hint: this.options.unauthenticatedHint,
          requestId: error.requestId,
        });
      }
      throw error;
    }
    if (body.data === null || body.data === undefined) {
      throw new CliError(`the server answered HTTP ${status} without data`, ExitCode.UNEXPECTED, { requestId });
    }
    return body.data as TResult;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
