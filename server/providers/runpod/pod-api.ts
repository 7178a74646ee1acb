import { RunPodHttpError, RunPodSubmitUncertainError, type RunPodHttp, type RunPodResponse } from './http';

/**
 * The pod calls of RunPod's REST v2 (openapi-v2.json, tag Pods) over the shared RunPod HTTP
 * client, answers read into the few fields the provider uses. No policy here: what a status
 * means and what to retry is the caller's.
 */

export type PodStatus = 'PROVISIONING' | 'STARTING' | 'RUNNING' | 'EXITED' | 'ERROR' | 'TERMINATED';
export type PodAction = 'start' | 'stop' | 'restart' | 'terminate';

/** `PodRuntimePort`: the live mapping of one exposed port. */
export interface PodRuntimePort {
  private: number;
  public: number | null;
  type: string;
  ip: string | null;
}

/** The fields of `Pod` the provider reads. */
export interface RunPodPod {
  id: string;
  name: string;
  /** As RunPod sent it; not checked against PodStatus, so a new status is seen, not hidden. */
  status: string;
  actions: string[];
  /** Exposed ports as `port/protocol` (`8080/http`). */
  ports: string[];
  runtimePorts: PodRuntimePort[];
  env: Record<string, string>;
  createdAt: string | null;
  gpuId: string | null;
}

/** `CreatePodRequest` as the provider fills it. */
export interface CreatePodBody {
  name: string;
  image: string;
  gpu?: { id: string; count: number };
  cpu?: { id: string; vcpuCount: number };
  cloud: 'SECURE' | 'COMMUNITY';
  disk: number;
  env: Record<string, string>;
  ports: string[];
}

export interface PodApiOptions {
  http: RunPodHttp;
  /** RUNPOD_API_URL without a trailing slash; paths start with /v2. */
  baseUrl: string;
  maxRetries: number;
}

const CREATE_TIMEOUT_MS = 60_000;
const CALL_TIMEOUT_MS = 30_000;

export class PodApi {
  constructor(private readonly options: PodApiOptions) {}

  /** Mode `submit`: a 5xx, a broken answer or one without a pod is a RunPodSubmitUncertainError (the pod may exist). */
  async create(body: CreatePodBody): Promise<RunPodPod> {
    const answer = await this.options.http.request({
      method: 'POST',
      url: this.url('/v2/pods'),
      label: 'POST /v2/pods',
      body: JSON.stringify(body),
      mode: 'submit',
      maxRetries: this.options.maxRetries,
      timeoutMs: CREATE_TIMEOUT_MS,
    });
    try {
      return parsePod(answer.body, 'POST /v2/pods');
    } catch (error) {
      // Accepted, but no pod id to follow: as unclear as a 5xx.
      throw new RunPodSubmitUncertainError('POST /v2/pods', this.options.http.mask(error instanceof Error ? error.message : String(error)));
    }
  }

  /** Standalone pods of the account; the API has no name filter, so callers filter. */
  async list(): Promise<RunPodPod[]> {
    const { body } = await this.call('GET', '/v2/pods', 'GET /v2/pods');
    const pods = body && typeof body === 'object' ? (body as { pods?: unknown }).pods : undefined;
    if (!Array.isArray(pods)) throw new Error('GET /v2/pods answered no "pods" list');
    return pods.map((pod) => parsePod(pod, 'GET /v2/pods'));
  }

  /** Null when RunPod answers 404. */
  async get(id: string): Promise<RunPodPod | null> {
    const path = `/v2/pods/${encodeURIComponent(id)}`;
    try {
      return parsePod((await this.call('GET', path, `GET ${path}`)).body, `GET ${path}`);
    } catch (error) {
      if (error instanceof RunPodHttpError && error.status === 404) return null;
      throw error;
    }
  }

  /** PATCH semantics: only the fields sent change; `env` replaces the pod's whole environment. */
  async update(id: string, patch: { env: Record<string, string> }): Promise<RunPodPod> {
    const path = `/v2/pods/${encodeURIComponent(id)}`;
    return parsePod((await this.call('PATCH', path, `PATCH ${path}`, JSON.stringify(patch))).body, `PATCH ${path}`);
  }

  /** The pod after `start`, `stop` or `restart`; null after `terminate` (204, no body). */
  async action(id: string, action: PodAction): Promise<RunPodPod | null> {
    const path = `/v2/pods/${encodeURIComponent(id)}/action`;
    const label = `POST ${path} ${action}`;
    const { status, body } = await this.call('POST', path, label, JSON.stringify({ action }));
    return status === 204 || body === null ? null : parsePod(body, label);
  }

  private call(method: 'GET' | 'POST' | 'PATCH', path: string, label: string, body?: string): Promise<RunPodResponse> {
    return this.options.http.request({
      method,
      url: this.url(path),
      label,
      body,
      mode: 'idempotent',
      maxRetries: this.options.maxRetries,
      timeoutMs: CALL_TIMEOUT_MS,
    });
  }

  private url(path: string): string {
    return `${this.options.baseUrl}${path}`;
  }
}

/** A `Pod` answer; throws when it has no id or status, so nothing half-read is acted on. */
export function parsePod(body: unknown, label: string): RunPodPod {
  const pod = body && typeof body === 'object' ? (body as Record<string, unknown>) : null;
  if (!pod || typeof pod.id !== 'string' || pod.id === '' || typeof pod.status !== 'string') {
    throw new Error(`${label} answered something that is not a pod: ${excerpt(body)}`);
  }
  const runtime = pod.runtime && typeof pod.runtime === 'object' ? (pod.runtime as { ports?: unknown }) : null;
  const gpu = pod.gpu && typeof pod.gpu === 'object' ? (pod.gpu as { id?: unknown }) : null;
  return {
    id: pod.id,
    name: typeof pod.name === 'string' ? pod.name : '',
    status: pod.status,
    actions: strings(pod.actions),
    ports: strings(pod.ports),
    runtimePorts: Array.isArray(runtime?.ports) ? runtime.ports.flatMap(runtimePort) : [],
    env: stringRecord(pod.env),
    createdAt: typeof pod.createdAt === 'string' ? pod.createdAt : null,
    gpuId: typeof gpu?.id === 'string' ? gpu.id : null,
  };
}

function runtimePort(entry: unknown): PodRuntimePort[] {
  const port = entry && typeof entry === 'object' ? (entry as Record<string, unknown>) : null;
  if (!port || typeof port.private !== 'number') return [];
  return [
    {
      private: port.private,
      public: typeof port.public === 'number' ? port.public : null,
      type: typeof port.type === 'string' ? port.type : '',
      ip: typeof port.ip === 'string' && port.ip !== '' ? port.ip : null,
    },
  ];
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function stringRecord(value: unknown): Record<string, string> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

/** A short quote of an answer, without any environment in it (it holds the deployment's secrets). */
function excerpt(body: unknown): string {
  try {
    return (JSON.stringify(body, (key, value: unknown) => (key === 'env' ? '[env]' : value)) ?? String(body)).slice(0, 200);
  } catch {
    return String(body).slice(0, 200);
  }
}
