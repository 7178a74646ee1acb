import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_FAKE_GPUS, presentedBearer, problemReply, writeReply, type FakeReply } from './fake-runpod';

/**
 * A local HTTP server that behaves as RunPod's REST v2 pods API (../shared/reference/runpod/
 * README.md "Pods", openapi-v2.json tag Pods): `POST /v2/pods` (201), `GET /v2/pods` (`{pods}`,
 * no name filter: callers filter), `GET|PATCH|DELETE /v2/pods/{id}`, `POST /v2/pods/{id}/action`
 * with the allowed-actions rules (409 otherwise, 204 for terminate), and the GPU catalog
 * `GET /v2/catalog/gpus`. Every call needs `Authorization: Bearer <apiKey>`; errors are RFC 9457
 * problems; create bodies are checked against CreatePodRequest (422 for the schema, 400 for
 * handler rules such as "exactly one of gpu or cpu").
 *
 * Pods follow scripts on the clock, evaluated whenever asked (no timer runs): PROVISIONING for
 * `provisioningMs`, STARTING for `startingMs`, then `end` (RUNNING by default, or ERROR or
 * EXITED). `start` and `restart` boot again from STARTING. The container's environment is the
 * pod's env at the moment its container started, so a test sees whether a new env reached it.
 *
 * Faults: `noCapacity(gpuId...)` answers 400 for those RunPod GPU ids; `fault()` makes the next
 * matching request(s) answer a status (402, 422 with `errors`, 429 with `Retry-After`, 500 ...),
 * optionally after handling it (a 500 after the pod was created), or drop the connection.
 * Every request is recorded: method, path, query, parsed body and Authorization header.
 */

export type FakePodStatus = 'PROVISIONING' | 'STARTING' | 'RUNNING' | 'EXITED' | 'ERROR' | 'TERMINATED';
export type FakePodAction = 'start' | 'stop' | 'restart' | 'terminate';

export interface FakePodScript {
  /** Default 20. */
  provisioningMs?: number;
  /** Default 20. */
  startingMs?: number;
  /** Where every boot ends; default RUNNING. */
  end?: 'RUNNING' | 'ERROR' | 'EXITED';
}

export interface FakePod {
  id: string;
  name: string;
  image: string;
  /** The pod's configured environment (create, then PATCH). */
  env: Record<string, string>;
  ports: string[];
  disk: number;
  cloud: string;
  gpu: { id: string; count: number } | null;
  cpu: { id: string; vcpuCount: number } | null;
  createdAt: string;
  status(): FakePodStatus;
  /** The environment the container started with last; null before it first started. */
  containerEnv(): Record<string, string> | null;
  /** How many times a container started. */
  containerStarts(): number;
}

export interface FakePodsRequest {
  method: string;
  path: string;
  /** The query string, `?` included, or ''. */
  query: string;
  /** Parsed JSON, the raw text when not JSON, null without a body. */
  body: unknown;
  authorization: string | undefined;
  status: number | 'dropped';
  at: number;
}

export interface FakePodsFault {
  method?: string;
  /** Equal to the path, or matching it. */
  path: string | RegExp;
  /** Only `POST .../action` requests with this action. */
  action?: FakePodAction;
  status: number | 'drop';
  /** Seconds (or an HTTP date) for `Retry-After`. */
  retryAfter?: number | string;
  detail?: string;
  errors?: string[];
  /** Default 1. */
  times?: number;
  /** Handle the request first (so the pod is created), then answer the fault. */
  afterHandling?: boolean;
}

export interface FakeRunPodPodsOptions {
  apiKey?: string;
  /** The catalog's `gpus`; default the serverless fake's. */
  gpus?: unknown[];
  /** Used for pods created without a script of their own. */
  defaultScript?: FakePodScript;
  /** A terminated pod answers 404 everywhere at once, instead of GET showing it TERMINATED. */
  forgetTerminated?: boolean;
  /** Echo the presented key in 401 details, to check callers mask it. */
  echoKeyInErrors?: boolean;
}

export interface FakeRunPodPods {
  /** The restBaseUrl (paths start with /v2). */
  url: string;
  apiKey: string;
  /** Every pod ever created, terminated ones included. */
  pods: Map<string, FakePod>;
  requests: FakePodsRequest[];
  /** The `POST /v2/pods` requests. */
  creates(): FakePodsRequest[];
  /** Pods that are not terminated (what bills). */
  livePods(): FakePod[];
  /** Scripts for the next created pods, in order. */
  script(...scripts: FakePodScript[]): void;
  /** 400 "no capacity" for creates on these RunPod GPU ids (replaces the list). */
  noCapacity(...gpuIds: string[]): void;
  fault(fault: FakePodsFault): void;
  close(): Promise<void>;
}

export const NO_CAPACITY_DETAIL = 'There are no longer any instances available with the requested specifications. Please refresh and try again.';

const ACTIONS_BY_STATUS: Record<FakePodStatus, FakePodAction[]> = {
  PROVISIONING: ['stop', 'terminate'],
  STARTING: ['stop', 'terminate'],
  RUNNING: ['stop', 'restart', 'terminate'],
  EXITED: ['start', 'terminate'],
  ERROR: ['start', 'terminate'],
  TERMINATED: [],
};
const CREATE_FIELDS = new Set([
  'name',
  'image',
  'args',
  'disk',
  'env',
  'ports',
  'registry',
  'cloud',
  'cpu',
  'dataCenterIds',
  'globalNetworking',
  'gpu',
  'mounts',
  'startJupyter',
  'startSsh',
  'templateId',
]);
const UPDATE_FIELDS = new Set(['name', 'image', 'args', 'disk', 'ports', 'env', 'registry', 'mounts', 'locked', 'globalNetworking', 'templateId']);
const MAX_BODY_BYTES = 1024 * 1024;

type Phase = { kind: 'boot'; since: number; fromStarting: boolean } | { kind: 'exited'; since: number } | { kind: 'terminated'; since: number };

class Pod implements FakePod {
  readonly id = randomBytes(7).toString('hex').slice(0, 14);
  readonly createdAt = new Date().toISOString();
  private phase: Phase = { kind: 'boot', since: Date.now(), fromStarting: false };
  private readonly envHistory: { at: number; env: Record<string, string> }[];
  /** When each container that has started did, earlier boots first. */
  private readonly starts: number[] = [];

  constructor(
    public name: string,
    public image: string,
    env: Record<string, string>,
    public ports: string[],
    public disk: number,
    readonly cloud: string,
    readonly gpu: { id: string; count: number } | null,
    readonly cpu: { id: string; vcpuCount: number } | null,
    private readonly pace: FakePodScript,
  ) {
    this.envHistory = [{ at: Date.now(), env: { ...env } }];
  }

  get env(): Record<string, string> {
    return { ...this.envHistory[this.envHistory.length - 1].env };
  }

  setEnv(env: Record<string, string>): void {
    this.envHistory.push({ at: Date.now(), env: { ...env } });
  }

  /** When the current boot's container starts (enters STARTING). */
  private containerStartOfBoot(): number | null {
    if (this.phase.kind !== 'boot') return null;
    return this.phase.since + (this.phase.fromStarting ? 0 : (this.pace.provisioningMs ?? 20));
  }

  private startsSoFar(now = Date.now()): number[] {
    const current = this.containerStartOfBoot();
    return current !== null && current <= now ? [...this.starts, current] : [...this.starts];
  }

  status(now = Date.now()): FakePodStatus {
    if (this.phase.kind === 'terminated') return 'TERMINATED';
    if (this.phase.kind === 'exited') return 'EXITED';
    const containerStart = this.containerStartOfBoot() as number;
    if (now < containerStart) return 'PROVISIONING';
    if (now < containerStart + (this.pace.startingMs ?? 20)) return 'STARTING';
    return this.pace.end ?? 'RUNNING';
  }

  containerEnv(): Record<string, string> | null {
    const starts = this.startsSoFar();
    const last = starts[starts.length - 1];
    if (last === undefined) return null;
    const entries = this.envHistory.filter((entry) => entry.at <= last);
    return { ...(entries[entries.length - 1] ?? this.envHistory[0]).env };
  }

  containerStarts(): number {
    return this.startsSoFar().length;
  }

  act(action: FakePodAction): void {
    const now = Date.now();
    this.starts.splice(0, this.starts.length, ...this.startsSoFar(now));
    if (action === 'terminate') this.phase = { kind: 'terminated', since: now };
    else if (action === 'stop') this.phase = { kind: 'exited', since: now };
    else this.phase = { kind: 'boot', since: now, fromStarting: true };
  }

  /** The `Pod` of openapi-v2.json. */
  view(): Record<string, unknown> {
    const status = this.status();
    const running = status === 'RUNNING';
    const starts = this.startsSoFar();
    return {
      id: this.id,
      name: this.name,
      image: this.image,
      args: '',
      disk: this.disk,
      ports: [...this.ports],
      env: this.env,
      registry: null,
      status,
      actions: [...ACTIONS_BY_STATUS[status]],
      mounts: {},
      ...(this.gpu ? { gpu: { ...this.gpu } } : {}),
      ...(this.cpu ? { cpu: { ...this.cpu, memory: this.cpu.vcpuCount * 2 } } : {}),
      cloud: this.cloud,
      dataCenterId: status === 'PROVISIONING' ? null : 'US-KS-2',
      cudaVersion: this.gpu ? '12.8' : null,
      ssh: { proxy: { host: 'ssh.runpod.io', port: 22, username: `${this.id}-64411eb2`, command: `ssh ${this.id}-64411eb2@ssh.runpod.io` }, direct: null },
      template: null,
      cost: status === 'EXITED' || status === 'TERMINATED' ? 0 : 0.44,
      locked: false,
      globalNetworking: { enabled: false },
      runtime: running ? { uptime: Math.floor((Date.now() - (starts[starts.length - 1] ?? Date.now())) / 1000), ports: this.ports.map(runtimePort) } : null,
      createdAt: this.createdAt,
      startedAt: starts.length > 0 ? new Date(starts[0]).toISOString() : null,
    };
  }
}

function runtimePort(entry: string): Record<string, unknown> {
  const [port, type] = entry.split('/');
  const privatePort = Number(port);
  return type === 'tcp'
    ? { private: privatePort, public: 30000 + (privatePort % 10000), type: 'tcp', ip: '127.0.0.1' }
    : { private: privatePort, public: null, type, ip: null };
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

const problem = (status: number, detail: string, errors?: string[]): FakeReply => problemReply(status, TITLES[status] ?? 'Error', detail, undefined, errors);

export async function startFakeRunPodPods(options: FakeRunPodPodsOptions = {}): Promise<FakeRunPodPods> {
  const apiKey = options.apiKey ?? `rpa_${randomUUID().replace(/-/g, '').toUpperCase()}`;
  const pods = new Map<string, Pod>();
  const requests: FakePodsRequest[] = [];
  const scripts: FakePodScript[] = [];
  const faults: (FakePodsFault & { left: number })[] = [];
  let full = new Set<string>();
  const gpus = options.gpus ?? DEFAULT_FAKE_GPUS;
  const gpuIds = new Set(gpus.map((gpu) => (gpu as { id: string }).id));

  function takeFault(method: string, path: string, body: unknown): (FakePodsFault & { left: number }) | undefined {
    const index = faults.findIndex(
      (fault) =>
        (fault.method === undefined || fault.method.toUpperCase() === method) &&
        (typeof fault.path === 'string' ? path === fault.path : fault.path.test(path)) &&
        (fault.action === undefined || (body as { action?: unknown } | null)?.action === fault.action),
    );
    if (index < 0) return undefined;
    const fault = faults[index];
    fault.left -= 1;
    if (fault.left <= 0) faults.splice(index, 1);
    return fault;
  }

  /** A pod that answers: unknown and (with forgetTerminated) terminated ones do not. */
  function found(id: string): Pod | undefined {
    const pod = pods.get(id);
    if (!pod || (options.forgetTerminated && pod.status() === 'TERMINATED')) return undefined;
    return pod;
  }

  function handle(method: string, path: string, body: unknown): FakeReply {
    if (path === '/v2/catalog/gpus') return method === 'GET' ? { status: 200, body: { gpus } } : notAllowed('GET');
    if (path === '/v2/pods') {
      if (method === 'GET') return { status: 200, body: { pods: [...pods.values()].filter((pod) => pod.status() !== 'TERMINATED').map((pod) => pod.view()) } };
      if (method === 'POST') return create(body);
      return notAllowed('GET, POST');
    }
    const match = /^\/v2\/pods\/([^/]+)(\/action)?$/.exec(path);
    if (!match) return problem(404, 'no such route');
    const pod = found(decodeURIComponent(match[1]));
    if (!pod) return problem(404, 'pod not found');
    if (match[2]) return method === 'POST' ? act(pod, body) : notAllowed('POST');
    if (method === 'GET') return { status: 200, body: pod.view() };
    if (method === 'PATCH') return update(pod, body);
    if (method === 'DELETE') return act(pod, { action: 'terminate' });
    return notAllowed('GET, PATCH, DELETE');
  }

  function create(body: unknown): FakeReply {
    if (!isRecord(body)) return problem(400, 'the body is not a JSON object');
    const errors = [
      ...unknownFields(body, CREATE_FIELDS, '$'),
      ...(typeof body.name !== 'string' || body.name === '' ? ['$.name: a non-empty string is required'] : []),
      ...(body.templateId === undefined && typeof body.image !== 'string' ? ['$.image: required unless templateId is set'] : []),
      ...containerErrors(body),
      ...(body.cloud !== undefined && body.cloud !== 'SECURE' && body.cloud !== 'COMMUNITY' ? ['$.cloud: must be SECURE or COMMUNITY'] : []),
      ...(body.gpu !== undefined ? gpuErrors(body.gpu) : []),
      ...(body.cpu !== undefined ? cpuErrors(body.cpu) : []),
    ];
    if (errors.length > 0) return problem(422, 'Request validation failed.', errors);
    if ((body.gpu === undefined) === (body.cpu === undefined)) return problem(400, 'exactly one of gpu or cpu must be set');
    const gpu = body.gpu as { id: string; count?: number } | undefined;
    const cpu = body.cpu as { id: string; vcpuCount: number } | undefined;
    if (gpu && !gpuIds.has(gpu.id)) return problem(400, `unknown GPU type ${gpu.id}`);
    if (cpu && (cpu.vcpuCount & (cpu.vcpuCount - 1)) !== 0) return problem(400, 'cpu.vcpuCount must be a power of two');
    if (gpu && full.has(gpu.id)) return problem(400, NO_CAPACITY_DETAIL);
    const pod = new Pod(
      body.name as string,
      body.image as string,
      (body.env as Record<string, string> | undefined) ?? {},
      (body.ports as string[] | undefined) ?? [],
      (body.disk as number | undefined) ?? 50,
      (body.cloud as string | undefined) ?? 'SECURE',
      gpu ? { id: gpu.id, count: gpu.count ?? 1 } : null,
      cpu ? { id: cpu.id, vcpuCount: cpu.vcpuCount } : null,
      scripts.shift() ?? options.defaultScript ?? {},
    );
    pods.set(pod.id, pod);
    return { status: 201, body: pod.view() };
  }

  function update(pod: Pod, body: unknown): FakeReply {
    if (!isRecord(body)) return problem(400, 'the body is not a JSON object');
    const errors = [...unknownFields(body, UPDATE_FIELDS, '$'), ...containerErrors(body)];
    if (body.name !== undefined && (typeof body.name !== 'string' || body.name === '')) errors.push('$.name: a non-empty string is required');
    if (errors.length > 0) return problem(422, 'Request validation failed.', errors);
    if (pod.status() === 'TERMINATED') return problem(409, 'the pod is terminated');
    if (typeof body.name === 'string') pod.name = body.name;
    if (typeof body.image === 'string') pod.image = body.image;
    if (Array.isArray(body.ports)) pod.ports = body.ports as string[];
    if (typeof body.disk === 'number') pod.disk = body.disk;
    if (body.env !== undefined) pod.setEnv(body.env as Record<string, string>);
    return { status: 200, body: pod.view() };
  }

  function act(pod: Pod, body: unknown): FakeReply {
    if (!isRecord(body)) return problem(400, 'the body is not a JSON object');
    const extra = unknownFields(body, new Set(['action']), '$');
    const action = body.action;
    if (extra.length > 0 || typeof action !== 'string' || !['start', 'stop', 'restart', 'terminate'].includes(action)) {
      return problem(422, 'Request validation failed.', [...extra, ...(typeof action === 'string' ? [] : ['$.action: required'])]);
    }
    const status = pod.status();
    const allowed = ACTIONS_BY_STATUS[status];
    if (!allowed.includes(action as FakePodAction)) {
      return problem(409, `action ${action} is not valid for a pod in status ${status}; valid now: ${allowed.join(', ') || 'none'}`);
    }
    pod.act(action as FakePodAction);
    return action === 'terminate' ? { status: 204, body: null } : { status: 200, body: pod.view() };
  }

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const method = request.method ?? 'GET';
    const url = new URL(request.url ?? '/', 'http://fake');
    const record: FakePodsRequest = {
      method,
      path: url.pathname,
      query: url.search,
      body: null,
      authorization: request.headers.authorization,
      status: 0,
      at: Date.now(),
    };
    requests.push(record);
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on('end', () => {
      const text = chunks.length > 0 ? Buffer.concat(chunks).toString('utf8') : null;
      record.body = text === null ? null : parseJson(text);
      const reply = (answer: FakeReply): void => {
        record.status = answer.status;
        writeReply(response, answer);
      };
      const drop = (): void => {
        record.status = 'dropped';
        request.socket.destroy();
      };
      const presented = presentedBearer(request);
      if (presented !== apiKey) {
        const detail = presented === undefined ? 'missing bearer token' : options.echoKeyInErrors ? `invalid api key: ${presented}` : 'invalid api key';
        reply(problem(401, detail));
        return;
      }
      if (size > MAX_BODY_BYTES) {
        reply(problem(400, 'the body exceeds 1 MB'));
        return;
      }
      const fault = takeFault(method, url.pathname, record.body);
      if (fault && !fault.afterHandling) {
        if (fault.status === 'drop') drop();
        else reply(faultReply(fault));
        return;
      }
      const handled = handle(method, url.pathname, record.body);
      if (!fault) reply(handled);
      else if (fault.status === 'drop') drop();
      else reply(faultReply(fault));
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    pods,
    requests,
    creates: () => requests.filter((entry) => entry.method === 'POST' && entry.path === '/v2/pods'),
    livePods: () => [...pods.values()].filter((pod) => pod.status() !== 'TERMINATED'),
    script: (...more) => {
      scripts.push(...more);
    },
    noCapacity: (...ids) => {
      full = new Set(ids);
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

function faultReply(fault: FakePodsFault): FakeReply {
  const status = fault.status as number;
  const answer = problem(status, fault.detail ?? `injected HTTP ${status}`, fault.errors);
  return fault.retryAfter === undefined ? answer : { ...answer, headers: { 'retry-after': String(fault.retryAfter) } };
}

function notAllowed(allow: string): FakeReply {
  return { ...problem(405, 'The requested method is not allowed for this path.'), headers: { allow } };
}

/** The ContainerConfig fields both create and update accept. */
function containerErrors(body: Record<string, unknown>): string[] {
  const errors: string[] = [];
  if (body.image !== undefined && (typeof body.image !== 'string' || body.image === '')) errors.push('$.image: must be a non-empty string');
  if (body.disk !== undefined && (!Number.isInteger(body.disk) || (body.disk as number) < 1)) errors.push('$.disk: must be an integer of at least 1');
  if (body.env !== undefined && (!isRecord(body.env) || Object.values(body.env).some((value) => typeof value !== 'string'))) {
    errors.push('$.env: must be an object of strings');
  }
  if (
    body.ports !== undefined &&
    (!Array.isArray(body.ports) || body.ports.some((entry) => typeof entry !== 'string' || !/^\d{1,5}\/(http|tcp)$/.test(entry)))
  ) {
    errors.push('$.ports: each entry must be port/http or port/tcp');
  }
  return errors;
}

function gpuErrors(gpu: unknown): string[] {
  if (!isRecord(gpu)) return ['$.gpu: must be an object'];
  return [
    ...unknownFields(gpu, new Set(['id', 'count', 'allowedCudaVersions', 'minCudaVersion']), '$.gpu'),
    ...(typeof gpu.id !== 'string' || gpu.id === '' ? ['$.gpu.id: required'] : []),
    ...(gpu.count !== undefined && (!Number.isInteger(gpu.count) || (gpu.count as number) < 1) ? ['$.gpu.count: must be an integer of at least 1'] : []),
  ];
}

function cpuErrors(cpu: unknown): string[] {
  if (!isRecord(cpu)) return ['$.cpu: must be an object'];
  return [
    ...unknownFields(cpu, new Set(['id', 'vcpuCount']), '$.cpu'),
    ...(typeof cpu.id !== 'string' || cpu.id === '' ? ['$.cpu.id: required'] : []),
    ...(!Number.isInteger(cpu.vcpuCount) || (cpu.vcpuCount as number) < 2 ? ['$.cpu.vcpuCount: must be an integer of at least 2'] : []),
  ];
}

function unknownFields(body: Record<string, unknown>, known: Set<string>, at: string): string[] {
  return Object.keys(body)
    .filter((key) => !known.has(key))
    .map((key) => `${at}: additional properties '${key}' not allowed`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
