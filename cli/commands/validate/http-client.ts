// Sends the requests of mp validate and records every exchange, whatever happens: an answer, a
// timeout (each request, body included, is bounded by --timeout) or a connection that failed.
import * as http from 'node:http';
import * as https from 'node:https';

export interface HttpCall {
  /** The case, as the report names it: "GET /health", "horizonDays 366", "random request 7". */
  label: string;
  method: 'GET' | 'POST';
  /** Below the base URL, e.g. `/v1/signal`. */
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export type Outcome =
  | { kind: 'response'; status: number; contentType: string | undefined; body: string; bytes: number; complete: boolean }
  | { kind: 'timeout'; afterMs: number; status?: number }
  | { kind: 'network'; code: string | undefined; message: string; status?: number };

export interface Exchange {
  call: HttpCall;
  url: string;
  outcome: Outcome;
  ms: number;
}

/** More than any answer of the contract needs (a batch of 500 is some 60 kB); beyond it the body is cut off. */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

export interface EndpointClientOptions {
  baseUrl: string;
  timeoutMs: number;
  /** Connections kept open to the endpoint (at least --concurrency). */
  maxSockets: number;
}

export class EndpointClient {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  /** Every exchange so far, in the order they ended. */
  readonly exchanges: Exchange[] = [];
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;

  constructor(options: EndpointClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs;
    const secure = this.baseUrl.startsWith('https:');
    this.transport = secure ? https : http;
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets };
    this.agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  }

  url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  async send(call: HttpCall, timeoutMs = this.timeoutMs): Promise<Exchange> {
    const started = performance.now();
    let outcome = await this.attempt(call, timeoutMs);
    // A kept-alive connection the endpoint closed just as we reused it (Node's documented race):
    // the request never reached it, so sending it once more on a new connection is safe.
    if (outcome.kind === 'network' && outcome.code === 'REUSED_SOCKET_RESET') {
      outcome = await this.attempt(call, Math.max(1, timeoutMs - (performance.now() - started)));
    }
    if (outcome.kind === 'network' && outcome.code === 'REUSED_SOCKET_RESET') outcome = { ...outcome, code: 'ECONNRESET' };
    const exchange: Exchange = { call, url: this.url(call.path), outcome, ms: performance.now() - started };
    this.exchanges.push(exchange);
    return exchange;
  }

  close(): void {
    this.agent.destroy();
  }

  private attempt(call: HttpCall, timeoutMs: number): Promise<Outcome> {
    const started = performance.now();
    const body = call.body === undefined ? undefined : Buffer.from(call.body, 'utf8');
    const headers: Record<string, string> = { ...call.headers };
    if (body !== undefined) headers['content-length'] = String(body.length);
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      let status: number | undefined;
      let request: http.ClientRequest | undefined;
      const finish = (outcome: Outcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
        if (outcome.kind !== 'response' || !outcome.complete) request?.destroy();
      };
      const timer = setTimeout(() => finish({ kind: 'timeout', afterMs: performance.now() - started, status }), timeoutMs);
      try {
        request = this.transport.request(this.url(call.path), { method: call.method, headers, agent: this.agent }, (response) => {
          status = response.statusCode ?? 0;
          const chunks: Buffer[] = [];
          let bytes = 0;
          response.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            if (bytes <= MAX_ANSWER_BYTES) chunks.push(chunk);
            else finish(answer(false));
          });
          const answer = (complete: boolean): Outcome => ({
            kind: 'response',
            status: status ?? 0,
            contentType: headerValue(response.headers['content-type']),
            body: Buffer.concat(chunks).toString('utf8'),
            bytes,
            complete,
          });
          response.on('end', () => finish(answer(true)));
          response.on('error', (error: NodeJS.ErrnoException) => finish(networkOutcome(error, status)));
          response.on('close', () => {
            if (!response.complete) finish({ kind: 'network', code: 'INCOMPLETE', message: 'the connection closed before the whole answer came', status });
          });
        });
      } catch (error) {
        finish(networkOutcome(error as NodeJS.ErrnoException, undefined));
        return;
      }
      const sent = request;
      sent.on('error', (error: NodeJS.ErrnoException) => {
        // Once the answer has begun (a 413 sent before the whole body was read), its end or close settles it.
        if (status !== undefined) return;
        const reset = error.code === 'ECONNRESET' || error.code === 'EPIPE';
        if (reset && sent.reusedSocket) finish({ kind: 'network', code: 'REUSED_SOCKET_RESET', message: error.message });
        else finish(networkOutcome(error, status));
      });
      sent.end(body);
    });
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function networkOutcome(error: NodeJS.ErrnoException, status: number | undefined): Outcome {
  return { kind: 'network', code: typeof error.code === 'string' ? error.code : undefined, message: error.message, status };
}
