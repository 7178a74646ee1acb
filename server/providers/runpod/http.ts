/**
 * The HTTP rules every RunPod call follows (../shared/reference/runpod/README.md, "Common"):
 * `Authorization: Bearer <key>`, RFC 9457 problem bodies, 429 honours `Retry-After`, 5xx and
 * network failures are retried with exponential backoff and jitter, 4xx are final.
 *
 * Two retry modes:
 * - `idempotent` (status, stream, cancel, catalog, pod reads, updates and actions): 429, 408,
 *   5xx and every network failure are retried, up to `maxRetries` consecutive failures.
 * - `submit` (POST /run, POST /v2/pods): a retry could start a second job or pod that bills, so
 *   only failures that prove RunPod did not take the request are retried: 429 (the rate limiter
 *   refused it) and connection failures before anything was sent (refused, DNS, unreachable,
 *   connect timeout). A 5xx, a reset or a timeout after the request went out is reported as
 *   `RunPodSubmitUncertainError`, never retried here: serverless jobs cannot be looked up, and
 *   the pods provider looks its pod up by name before it creates again (./pod-create.ts).
 */

export type RetryMode = 'idempotent' | 'submit';

export interface RunPodRequest {
  method: 'GET' | 'POST' | 'PATCH';
  url: string;
  /** How messages name the call, e.g. "GET /status/abc" (never the full URL with a key in it). */
  label: string;
  body?: string;
  mode: RetryMode;
  maxRetries: number;
  /** Per attempt. */
  timeoutMs: number;
  /** Aborts waits between attempts; also aborts an attempt in flight unless `mode` is `submit`. */
  signal?: AbortSignal;
}

export interface RunPodResponse {
  status: number;
  body: unknown;
}

/** A final HTTP answer that is not a success (after any retries). `message` is masked. */
export class RunPodHttpError extends Error {
  constructor(
    readonly label: string,
    readonly status: number,
    /** The problem's `detail` (and `errors`), or a short excerpt of the body; masked. */
    readonly detail: string,
  ) {
    super(`${label} answered HTTP ${status}${detail ? `: ${detail}` : ''}`);
    this.name = 'RunPodHttpError';
  }
}

/** RunPod could not be reached (after any retries); nothing says the request had an effect. */
export class RunPodUnreachableError extends Error {
  constructor(
    readonly label: string,
    readonly reason: string,
    readonly attempts: number,
  ) {
    super(`${label} failed: ${reason} (${attempts} attempt${attempts === 1 ? '' : 's'})`);
    this.name = 'RunPodUnreachableError';
  }
}

/** The submission went out but its outcome is unknown: the job may or may not exist. */
export class RunPodSubmitUncertainError extends Error {
  constructor(
    readonly label: string,
    readonly reason: string,
  ) {
    super(`${label}: ${reason}`);
    this.name = 'RunPodSubmitUncertainError';
  }
}

/** The caller's signal aborted while waiting. */
export class RunPodAbortedError extends Error {
  constructor(readonly label: string) {
    super(`${label} was abandoned: aborted`);
    this.name = 'RunPodAbortedError';
  }
}

export interface RunPodHttpOptions {
  apiKey: string;
  /** First backoff delay; doubles per consecutive failure. */
  baseDelayMs: number;
  /** Backoff cap (about 30 s). */
  maxDelayMs?: number;
  /** Longest `Retry-After` honoured as given (longer ones are cut to this). */
  maxRetryAfterMs?: number;
  log: (message: string) => void;
}

/** Codes that mean the connection was never established, so the request never left. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);

export class RunPodHttp {
  private readonly maxDelayMs: number;
  private readonly maxRetryAfterMs: number;

  constructor(private readonly options: RunPodHttpOptions) {
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 5 * 60_000;
  }

  /** Replaces the API key (ours and `RUNPOD_API_KEY` from the environment) and bearer tokens. */
  mask(text: string): string {
    let masked = text;
    const secrets = [this.options.apiKey, process.env.RUNPOD_API_KEY].filter((secret): secret is string => typeof secret === 'string' && secret.length >= 4);
    for (const secret of secrets) masked = masked.split(secret).join('***');
    return masked.replace(/(Bearer\s+)[^\s"',;]+/gi, '$1***');
  }

  async request(request: RunPodRequest): Promise<RunPodResponse> {
    const { signal } = request;
    let failures = 0;
    for (;;) {
      if (signal?.aborted) throw new RunPodAbortedError(request.label);
      const attempt = await this.attempt(request);
      if (attempt.kind !== 'answer') {
        if (signal?.aborted && request.mode === 'idempotent') throw new RunPodAbortedError(request.label);
        const reason =
          attempt.kind === 'no-answer'
            ? describeNetworkError(attempt.error, request.timeoutMs)
            : `the answer (HTTP ${attempt.status}) broke off: ${describeNetworkError(attempt.error, request.timeoutMs)}`;
        // Only a connection that never opened proves a submission did not reach RunPod.
        if (request.mode === 'submit' && !(attempt.kind === 'no-answer' && neverSent(attempt.error))) {
          throw new RunPodSubmitUncertainError(request.label, this.mask(`no complete answer after the request was sent (${reason})`));
        }
        if (failures >= request.maxRetries) throw new RunPodUnreachableError(request.label, this.mask(reason), failures + 1);
        failures += 1;
        await this.wait(request, this.backoff(failures), reason, failures);
        continue;
      }
      const { response, text } = attempt;

      const status = response.status;
      if (status >= 200 && status < 300) {
        if (text.trim() === '') return { status, body: null };
        try {
          return { status, body: JSON.parse(text) as unknown };
        } catch {
          const reason = `HTTP ${status} with a body that is not JSON: ${excerpt(text)}`;
          if (request.mode === 'submit') throw new RunPodSubmitUncertainError(request.label, this.mask(reason));
          if (failures >= request.maxRetries) throw new RunPodUnreachableError(request.label, this.mask(reason), failures + 1);
          failures += 1;
          await this.wait(request, this.backoff(failures), reason, failures);
          continue;
        }
      }

      const detail = this.mask(problemDetail(text));
      if (status === 429) {
        // Refused by the rate limiter before it did anything: safe to repeat, submit included.
        if (failures >= request.maxRetries) throw new RunPodHttpError(request.label, status, detail);
        failures += 1;
        const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
        const delay = retryAfter === null ? this.backoff(failures) : Math.min(retryAfter, this.maxRetryAfterMs);
        await this.wait(request, delay, `HTTP 429${retryAfter === null ? '' : ` (Retry-After ${response.headers.get('retry-after')})`}`, failures);
        continue;
      }
      if (status >= 500 || status === 408) {
        if (request.mode === 'submit') {
          throw new RunPodSubmitUncertainError(request.label, `answered HTTP ${status}${detail ? `: ${detail}` : ''}`);
        }
        if (failures >= request.maxRetries) throw new RunPodHttpError(request.label, status, detail);
        failures += 1;
        await this.wait(request, this.backoff(failures), `HTTP ${status}`, failures);
        continue;
      }
      throw new RunPodHttpError(request.label, status, detail);
    }
  }

  /**
   * One HTTP exchange, body included, bounded by `timeoutMs` and (unless submitting) by the
   * caller's signal. A controller per attempt, its listener removed afterwards, so a job polled
   * for days does not pile listeners onto its signal.
   */
  private async attempt(
    request: RunPodRequest,
  ): Promise<
    { kind: 'answer'; response: Response; text: string } | { kind: 'no-answer'; error: unknown } | { kind: 'broken-answer'; status: number; error: unknown }
  > {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException('timed out', 'TimeoutError')), request.timeoutMs);
    const follow = request.mode === 'idempotent' ? request.signal : undefined;
    const onAbort = (): void => controller.abort(follow?.reason);
    follow?.addEventListener('abort', onAbort, { once: true });
    try {
      let response: Response;
      try {
        response = await fetch(request.url, {
          method: request.method,
          headers: {
            authorization: `Bearer ${this.options.apiKey}`,
            accept: 'application/json',
            ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: request.body,
          signal: controller.signal,
        });
      } catch (error) {
        return { kind: 'no-answer', error };
      }
      try {
        return { kind: 'answer', response, text: await response.text() };
      } catch (error) {
        return { kind: 'broken-answer', status: response.status, error };
      }
    } finally {
      clearTimeout(timer);
      follow?.removeEventListener('abort', onAbort);
    }
  }

  /** Exponential backoff with "equal jitter": half fixed, half random; capped. */
  backoff(failures: number): number {
    const exponential = Math.min(this.maxDelayMs, this.options.baseDelayMs * 2 ** Math.min(failures - 1, 30));
    return Math.round(exponential / 2 + (Math.random() * exponential) / 2);
  }

  private async wait(request: RunPodRequest, delayMs: number, reason: string, failures: number): Promise<void> {
    this.options.log(
      this.mask(`RunPod ${request.label}: ${reason}; retrying in ${(delayMs / 1000).toFixed(1)} s (retry ${failures} of ${request.maxRetries})`),
    );
    try {
      await sleep(delayMs, request.signal);
    } catch {
      throw new RunPodAbortedError(request.label);
    }
  }
}

/** Resolves after `ms`, or rejects as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new Error('aborted'));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Error('aborted'));
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `Retry-After` as delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - Date.now());
}

/** `detail` (plus `errors[]`) of an RFC 9457 problem, else a short excerpt of the body. */
export function problemDetail(text: string): string {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object') {
      const problem = parsed as { detail?: unknown; title?: unknown; errors?: unknown; error?: unknown; message?: unknown };
      const main = [problem.detail, problem.error, problem.message, problem.title].find(
        (value): value is string => typeof value === 'string' && value.trim() !== '',
      );
      const errors = Array.isArray(problem.errors) ? problem.errors.filter((e): e is string => typeof e === 'string') : [];
      const parts = [main, errors.length > 0 ? errors.join('; ') : undefined].filter((p): p is string => Boolean(p));
      if (parts.length > 0) return excerpt(parts.join(': '));
    }
  } catch {
    // not JSON: fall through
  }
  return excerpt(text);
}

function excerpt(text: string, max = 500): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

function errorCodes(error: unknown, depth = 0): string[] {
  if (!error || typeof error !== 'object' || depth > 4) return [];
  const found: string[] = [];
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string') found.push(code);
  found.push(...errorCodes(cause, depth + 1));
  if (Array.isArray(errors)) for (const inner of errors) found.push(...errorCodes(inner, depth + 1));
  return found;
}

/** True only when the failure proves no byte of the request reached the server. */
function neverSent(error: unknown): boolean {
  const codes = errorCodes(error);
  return codes.length > 0 && codes.every((code) => NOT_SENT_CODES.has(code));
}

function describeNetworkError(error: unknown, timeoutMs: number): string {
  const name = error && typeof error === 'object' ? (error as { name?: unknown }).name : undefined;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return `no answer within ${Math.round(timeoutMs / 1000)} s`;
  }
  const codes = errorCodes(error);
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : undefined;
  const message = error instanceof Error ? error.message : String(error);
  const text = cause ?? message;
  return codes[0] && !text.includes(codes[0]) ? `${codes[0]} ${text}` : text;
}
