import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local HTTP server that behaves as ../shared/reference/runpod/README.md describes RunPod:
 * the serverless jobs API under `/v2/{endpointId}/` (run, status, stream, cancel, health), the
 * REST v2 GPU catalog `GET /v2/catalog/gpus` (openapi-v2.json `ListGpuTypesResponse`) and
 * `GET /v2/serverless/{id}` (its `Endpoint`, with the `gpu.pools` it was created with). Every call
 * needs `Authorization: Bearer <apiKey>` (401 problem otherwise); errors are RFC 9457 problems.
 *
 * Jobs follow scripts (`script()`), evaluated against the clock whenever asked, so no timer runs:
 * IN_QUEUE for `queueMs`, then IN_PROGRESS emitting one stream output every `intervalMs`, then
 * the scripted end one interval after the last output, unless `policy.executionTimeout` passes
 * first (TIMED_OUT) or `/cancel` comes first (CANCELLED). `/stream` hands out each output once,
 * in order. `speed` makes the job clock run faster than real time (for timeouts of 5 s and up).
 *
 * Where RunPod was seen to differ from its reference, the fake can too: `executionTimeout` counts
 * from submission (queue time included); `lateOutputs` reach `/stream` only `lateMs` after the
 * job's final status; `plainStreamItems` sends stream entries as the bare outputs (plain strings)
 * rather than `{ output }`; `omitExecutionTime` leaves `executionTime` out of `/status` answers
 * in the states named (CANCELLED, say).
 *
 * `fault()` makes the next matching request(s) fail: an HTTP status (429 with `Retry-After`,
 * 500...), optionally after the request was handled (a 5xx after `/run` created the job), or a
 * dropped connection.
 */

export type FakeJobEnd =
  | { status: 'COMPLETED'; output?: unknown }
  | { status: 'FAILED'; error: unknown; output?: unknown }
  /** Runs until `policy.executionTimeout`, then TIMED_OUT. */
  | { status: 'NEVER' };

export interface FakeJobScript {
  /** Job-clock ms in IN_QUEUE before a worker takes it; default 10. */
  queueMs?: number;
  /** Streamed outputs (each becomes one `{ output }` of `/stream`), one per `intervalMs`. */
  outputs?: unknown[];
  /** Default 10. */
  intervalMs?: number;
  /** Default COMPLETED without output. */
  end?: FakeJobEnd;
  /** Outputs that appear in `/stream` only `lateMs` (job clock, default 100) after the job's final status. */
  lateOutputs?: unknown[];
  lateMs?: number;
}

export type FakeJobState = 'IN_QUEUE' | 'IN_PROGRESS' | 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT';

export interface FakeJob {
  id: string;
  /** The endpoint it was submitted to. */
  endpointId: string;
  input: unknown;
  policy: { executionTimeout: number; ttl?: number; lowPriority?: boolean };
  webhook?: string;
  script: FakeJobScript;
  submittedAt: number;
  /** Job-clock ms at which /cancel arrived. */
  cancelledAt: number | null;
  /** Outputs already handed out by /stream. */
  delivered: number;
  /** The state now. */
  state(): FakeJobState;
}

export interface FakeFault {
  method?: string;
  /** Matched against the path (from /v2 on): a substring or a RegExp. */
  path: string | RegExp;
  /** An HTTP status to answer, or 'drop' to close the connection without an answer. */
  status: number | 'drop';
  /** Seconds (or an HTTP date) for `Retry-After`. */
  retryAfter?: number | string;
  /** The problem's `detail`. */
  detail?: string;
  /** How many requests it hits; default 1. */
  times?: number;
  /** Handle the request first (so `/run` creates the job), then answer the fault. */
  afterHandling?: boolean;
}

export interface FakeCall {
  method: string;
  path: string;
  at: number;
  status: number | 'dropped';
}

export interface FakeRunPodOptions {
  apiKey?: string;
  endpointId?: string;
  /** More endpoints besides `endpointId`, each running jobs the same way. */
  endpointIds?: string[];
  /** `gpu` of `GET /v2/serverless/{id}` per endpoint; default `{ pools: ['AMPERE_80'] }`. */
  endpointGpus?: Record<string, { pools: string[]; excludedTypes?: string[] }>;
  /** Job clock speed factor; default 1. */
  speed?: number;
  /** Echo the presented key in 401 details (as some APIs do), to check callers mask it. */
  echoKeyInErrors?: boolean;
  /** The catalog's `gpus`; default: a few GPUs as openapi-v2.json shapes them. */
  gpus?: unknown[];
  /** At most this many outputs per `/stream` answer (the rest wait for the next call); default unlimited. */
  streamBatch?: number;
  /** `/stream` entries are the outputs themselves, not `{ output }`. */
  plainStreamItems?: boolean;
  /** `/status` answers in these states carry no `executionTime`. */
  omitExecutionTime?: FakeJobState[];
}

export interface FakeRunPod {
  /** Base for restBaseUrl (catalog at `${url}/v2/catalog/gpus`). */
  url: string;
  /** Base for jobsBaseUrl (`${url}/v2`). */
  jobsUrl: string;
  apiKey: string;
  endpointId: string;
  jobs: Map<string, FakeJob>;
  /** "METHOD /path" of every request, in arrival order. */
  requests: string[];
  calls: FakeCall[];
  /** Scripts for the next submitted jobs, in order (a job without one completes at once). */
  script(...scripts: FakeJobScript[]): void;
  fault(fault: FakeFault): void;
  close(): Promise<void>;
}

export const DEFAULT_FAKE_GPUS: unknown[] = [
  gpu('NVIDIA GeForce RTX 4090', 'RTX 4090', 'ADA_24', 24, { secure: 0.69, community: 0.34, serverless: 1.1 }),
  gpu('NVIDIA A100 80GB PCIe', 'A100 PCIe', 'AMPERE_80', 80, { secure: 1.64, community: 1.19, serverless: 2.72 }),
  gpu('NVIDIA A100-SXM4-80GB', 'A100 SXM', 'AMPERE_80', 80, { secure: 1.74, community: 1.39, serverless: 2.72 }),
  gpu('NVIDIA H100 80GB HBM3', 'H100 SXM', 'HOPPER_141', 80, { secure: 2.99, community: 2.69, serverless: 4.18 }),
  gpu('NVIDIA RTX A6000', 'RTX A6000', 'AMPERE_48', 48, { secure: 0.49, community: 0.33, serverless: 0.85 }),
  gpu('NVIDIA GeForce RTX 3070', 'RTX 3070', null, 8, { secure: 0.13, community: 0.13 }),
];

function gpu(id: string, name: string, pool: string | null, memory: number, price: Record<string, number>): unknown {
  return {
    id,
    name,
    pool,
    manufacturer: 'NVIDIA',
    memory,
    secure: true,
    community: true,
    price,
    maxCount: { secure: 8, community: 4 },
  };
}

const FINAL: ReadonlySet<FakeJobState> = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT']);
const MAX_PAYLOAD_BYTES = 10 * 1000 * 1000;
const MIN_EXECUTION_TIMEOUT_MS = 5_000;
const MAX_MS = 7 * 24 * 60 * 60 * 1000;

/** What a fake answers: a status, a JSON body (not sent with a 204) and extra headers. */
export interface FakeReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}
type Reply = FakeReply;

/** An RFC 9457 problem object, as RunPod's REST v2 answers every error. */
export function problemReply(status: number, title: string, detail: string, headers?: Record<string, string>, errors?: string[]): FakeReply {
  return { status, body: { title, status, detail, ...(errors ? { errors } : {}) }, headers };
}

/** The key of `Authorization: Bearer <key>`, or undefined when there is none. */
export function presentedBearer(request: IncomingMessage): string | undefined {
  return /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
}

/** Writes the reply: JSON, problems as application/problem+json, 204 without a body. */
export function writeReply(response: ServerResponse, reply: FakeReply): void {
  if (reply.status === 204) {
    response.writeHead(204, { ...reply.headers });
    response.end();
    return;
  }
  const json = JSON.stringify(reply.body);
  response.writeHead(reply.status, {
    'content-type': reply.status >= 400 ? 'application/problem+json' : 'application/json',
    'content-length': Buffer.byteLength(json),
    ...reply.headers,
  });
  response.end(json);
}

class Job implements FakeJob {
  cancelledAt: number | null = null;
  delivered = 0;
  readonly submittedAt = Date.now();

  constructor(
    readonly id: string,
    readonly endpointId: string,
    readonly input: unknown,
    readonly policy: FakeJob['policy'],
    readonly webhook: string | undefined,
    readonly script: FakeJobScript,
    private readonly speed: number,
    private readonly streamBatch: number,
    private readonly options: Pick<FakeRunPodOptions, 'plainStreamItems' | 'omitExecutionTime'> = {},
  ) {}

  private elapsed(): number {
    return (Date.now() - this.submittedAt) * this.speed;
  }

  private get startAt(): number {
    return this.script.queueMs ?? 10;
  }

  private get interval(): number {
    return this.script.intervalMs ?? 10;
  }

  private outputAt(index: number): number {
    return this.startAt + (index + 1) * this.interval;
  }

  /** When and how the job ends, cancel and timeout included. */
  private ending(): { at: number; state: FakeJobState } {
    const outputs = this.script.outputs ?? [];
    const end = this.script.end ?? { status: 'COMPLETED' };
    const natural = end.status === 'NEVER' ? Infinity : this.startAt + (outputs.length + 1) * this.interval;
    const timeout = this.policy.executionTimeout;
    const cancelled = this.cancelledAt ?? Infinity;
    if (cancelled <= Math.min(natural, timeout)) return { at: cancelled, state: 'CANCELLED' };
    if (timeout < natural) return { at: timeout, state: 'TIMED_OUT' };
    return { at: natural, state: end.status as 'COMPLETED' | 'FAILED' };
  }

  state(now = this.elapsed()): FakeJobState {
    const ending = this.ending();
    if (now >= ending.at) return ending.state;
    return now < this.startAt ? 'IN_QUEUE' : 'IN_PROGRESS';
  }

  statusView(): Record<string, unknown> {
    const now = this.elapsed();
    const ending = this.ending();
    const state = this.state(now);
    const ran = Math.max(0, Math.min(now, ending.at) - this.startAt);
    const view: Record<string, unknown> = {
      id: this.id,
      status: state,
      delayTime: Math.round(Math.min(now, this.startAt, ending.at)),
    };
    if (!this.options.omitExecutionTime?.includes(state)) view.executionTime = Math.round(ran);
    const end = this.script.end;
    if (state === 'COMPLETED' && end?.status === 'COMPLETED' && end.output !== undefined) view.output = end.output;
    if (state === 'FAILED' && end?.status === 'FAILED') {
      view.error = end.error;
      if (end.output !== undefined) view.output = end.output;
    }
    return view;
  }

  /** What /stream answers: the outputs produced since the last call, handed out once. */
  takeStream(): Record<string, unknown> {
    const now = this.elapsed();
    const ending = this.ending();
    const until = Math.min(now, ending.at);
    const onTime = this.script.outputs ?? [];
    const late = this.script.lateOutputs ?? [];
    const outputs = [...onTime, ...late];
    // An output on time is due at its place in the script; a late one after the final status.
    const due = (index: number) => (index < onTime.length ? this.outputAt(index) <= until : now >= ending.at + (this.script.lateMs ?? 100));
    const stream: unknown[] = [];
    while (this.delivered < outputs.length && due(this.delivered) && stream.length < this.streamBatch) {
      const output = outputs[this.delivered];
      stream.push(this.options.plainStreamItems ? output : { output });
      this.delivered += 1;
    }
    // Status and outputs from one instant: a final status never hides an on-time output.
    return { status: this.state(now), stream };
  }

  cancel(): FakeJobState {
    const now = this.elapsed();
    if (!FINAL.has(this.state(now))) this.cancelledAt = now;
    return this.state(now);
  }
}

export async function startFakeRunPod(options: FakeRunPodOptions = {}): Promise<FakeRunPod> {
  const apiKey = options.apiKey ?? `rpa_${randomUUID().replace(/-/g, '').toUpperCase()}`;
  const endpointId = options.endpointId ?? 'fake-endpoint-1';
  const speed = options.speed ?? 1;
  const jobs = new Map<string, FakeJob>();
  const internal = new Map<string, Job>();
  const requests: string[] = [];
  const calls: FakeCall[] = [];
  const scripts: FakeJobScript[] = [];
  const faults: (FakeFault & { left: number })[] = [];

  const problem = (status: number, title: string, detail: string, headers?: Record<string, string>): Reply => problemReply(status, title, detail, headers);

  function takeFault(method: string, path: string): (FakeFault & { left: number }) | undefined {
    const index = faults.findIndex(
      (fault) =>
        (fault.method === undefined || fault.method.toUpperCase() === method) &&
        (typeof fault.path === 'string' ? path.includes(fault.path) : fault.path.test(path)),
    );
    if (index < 0) return undefined;
    const fault = faults[index];
    fault.left -= 1;
    if (fault.left <= 0) faults.splice(index, 1);
    return fault;
  }

  const endpoints = [endpointId, ...(options.endpointIds ?? [])];

  function handle(method: string, path: string, body: string | null): Reply {
    if (method === 'GET' && path === '/v2/catalog/gpus') return { status: 200, body: { gpus: options.gpus ?? DEFAULT_FAKE_GPUS } };
    const serverless = /^\/v2\/serverless\/([^/]+)$/.exec(path);
    if (serverless && method === 'GET') {
      const id = decodeURIComponent(serverless[1]);
      if (!endpoints.includes(id)) return problem(404, 'Not Found', `endpoint ${id} not found`);
      const gpu = options.endpointGpus?.[id] ?? { pools: ['AMPERE_80'] };
      return {
        status: 200,
        body: {
          id,
          name: `fake ${id}`,
          type: 'QUEUE',
          gpu: {
            pools: gpu.pools,
            ...(gpu.excludedTypes ? { excludedTypes: gpu.excludedTypes } : {}),
            count: 1,
            allowedCudaVersions: [],
            minCudaVersion: null,
          },
          workers: { min: 0, max: 3 },
          dataCenterIds: [],
          networkVolumes: [],
          timeout: 600000,
          flashboot: 'OFF',
          createdAt: '2026-11-01T00:00:00Z',
        },
      };
    }
    const match = /^\/v2\/([^/]+)\/(run|status|stream|cancel|health)(?:\/([^/]+))?$/.exec(path);
    if (!match) return problem(404, 'Not Found', 'no such route');
    const [, endpoint, operation, rawId] = match;
    if (!endpoints.includes(endpoint)) return problem(404, 'Not Found', `endpoint ${endpoint} not found`);
    const wantsId = operation === 'status' || operation === 'stream' || operation === 'cancel';
    if (wantsId !== (rawId !== undefined)) return problem(404, 'Not Found', 'no such route');
    const expected = operation === 'run' || operation === 'cancel' ? 'POST' : 'GET';
    if (method !== expected) return { ...problem(405, 'Method Not Allowed', `use ${expected}`), headers: { allow: expected } };

    if (operation === 'health') {
      const counts = { completed: 0, failed: 0, inProgress: 0, inQueue: 0, retried: 0 };
      for (const job of internal.values()) {
        const state = job.state();
        if (state === 'COMPLETED') counts.completed += 1;
        else if (state === 'FAILED' || state === 'TIMED_OUT') counts.failed += 1;
        else if (state === 'IN_PROGRESS') counts.inProgress += 1;
        else if (state === 'IN_QUEUE') counts.inQueue += 1;
      }
      return { status: 200, body: { jobs: counts, workers: { idle: 0, running: counts.inProgress } } };
    }

    if (operation === 'run') return submit(endpoint, body);

    const job = internal.get(decodeURIComponent(rawId ?? ''));
    // A job belongs to the endpoint it was submitted to.
    if (!job || job.endpointId !== endpoint) return problem(404, 'Not Found', `job ${rawId} not found`);
    if (operation === 'status') return { status: 200, body: job.statusView() };
    if (operation === 'stream') return { status: 200, body: job.takeStream() };
    return { status: 200, body: { id: job.id, status: job.cancel() } };
  }

  function submit(endpoint: string, body: string | null): Reply {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body ?? '');
    } catch {
      return problem(400, 'Bad Request', 'the body is not JSON');
    }
    const request = parsed as { input?: unknown; webhook?: unknown; policy?: Record<string, unknown> } | null;
    if (!request || typeof request !== 'object' || !request.input || typeof request.input !== 'object') {
      return problem(400, 'Bad Request', 'input is required');
    }
    const policy = request.policy ?? {};
    const executionTimeout = policy.executionTimeout ?? 600_000;
    if (
      typeof executionTimeout !== 'number' ||
      !Number.isInteger(executionTimeout) ||
      executionTimeout < MIN_EXECUTION_TIMEOUT_MS ||
      executionTimeout > MAX_MS
    ) {
      return problem(400, 'Bad Request', 'policy.executionTimeout must be 5000..604800000 ms');
    }
    const ttl = policy.ttl;
    if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 10_000 || ttl > MAX_MS)) {
      return problem(400, 'Bad Request', 'policy.ttl must be 10000..604800000 ms');
    }
    const id = `${randomUUID()}-u1`;
    const job = new Job(
      id,
      endpoint,
      request.input,
      { executionTimeout, ttl: ttl as number | undefined, lowPriority: policy.lowPriority === true },
      typeof request.webhook === 'string' ? request.webhook : undefined,
      scripts.shift() ?? {},
      speed,
      options.streamBatch ?? Infinity,
      options,
    );
    internal.set(id, job);
    jobs.set(id, job);
    return { status: 200, body: { id, status: 'IN_QUEUE' } };
  }

  function send(response: ServerResponse, call: FakeCall, reply: Reply): void {
    call.status = reply.status;
    writeReply(response, reply);
  }

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const method = request.method ?? 'GET';
    const path = new URL(request.url ?? '/', 'http://fake').pathname;
    requests.push(`${method} ${path}`);
    const call: FakeCall = { method, path, at: Date.now(), status: 0 };
    calls.push(call);

    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_PAYLOAD_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on('end', () => {
      const presented = presentedBearer(request);
      if (presented !== apiKey) {
        const detail = presented === undefined ? 'missing bearer token' : options.echoKeyInErrors ? `invalid api key: ${presented}` : 'invalid api key';
        send(response, call, problem(401, 'Unauthorized', detail));
        return;
      }
      if (tooLarge) {
        send(response, call, problem(400, 'Bad Request', 'the payload exceeds 10 MB'));
        return;
      }
      const fault = takeFault(method, path);
      if (fault?.status === 'drop' && !fault.afterHandling) {
        call.status = 'dropped';
        request.socket.destroy();
        return;
      }
      const handled = fault && !fault.afterHandling ? null : handle(method, path, chunks.length > 0 ? Buffer.concat(chunks).toString('utf8') : null);
      if (fault) {
        if (fault.status === 'drop') {
          call.status = 'dropped';
          request.socket.destroy();
          return;
        }
        const headers: Record<string, string> = fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) };
        send(
          response,
          call,
          problem(fault.status, fault.status === 429 ? 'Too Many Requests' : 'Injected Fault', fault.detail ?? `injected HTTP ${fault.status}`, headers),
        );
        return;
      }
      send(response, call, handled as Reply);
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    jobsUrl: `${url}/v2`,
    apiKey,
    endpointId,
    jobs,
    requests,
    calls,
    script: (...more) => {
      scripts.push(...more);
    },
    fault: (fault) => {
      faults.push({ ...fault, left: fault.times ?? 1 });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
