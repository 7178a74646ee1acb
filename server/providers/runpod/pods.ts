import type { DeploymentEvents, DeploymentProvider, DeploymentSpec, ProviderView, ProvisionedDeployment } from '../deployment-provider';
import { DomainError, badInput } from '../../domain-error';
import { maskText } from '../../tokens/mask-text';
import { SecretValues } from '../../tokens/secret-values';
import { PodGpuCatalog } from './gpu-catalog';
import { RunPodHttp, RunPodHttpError, sleep } from './http';
import { PodApi, type RunPodPod } from './pod-api';
import { createPod } from './pod-create';
import { maskedError, podCallError } from './pod-errors';
import { imageOf, podId, portOf, secretValuesOf, vcpuCountOf } from './pod-spec';
import { DEFAULT_PROXY_URL_TEMPLATE, endpointUrlOf, goneView, httpPortOf, viewOfPod } from './pod-view';

/**
 * Inference deployments as RunPod pods (../shared/reference/runpod/README.md, "Pods";
 * openapi-v2.json, tag Pods). Creating follows ./pod-create.ts; the deployments module follows
 * the pod with `inspect` (this provider watches nothing itself, so `events.ended` is never
 * called: a pod's end shows in the next `inspect`). Every message is masked: the API key, our
 * tokens, and the secret values of the deployment's environment.
 */

/** RUNPOD_API_URL's default (openapi-v2.json `servers[0]`). */
const DEFAULT_REST_BASE_URL = 'https://api.runpod.io';
const DEFAULT_DISK_GB = 20;
/** openapi-v2.json's example CPU flavor (`GET /v2/catalog/cpus` lists the others). */
const DEFAULT_CPU_FLAVOR = 'cpu5c';

export interface RunPodPodsProviderOptions {
  apiKey: string;
  /** RUNPOD_API_URL; default https://api.runpod.io. */
  restBaseUrl?: string;
  /** Container disk in GB; default 20. */
  diskGb?: number;
  /** Default SECURE (RunPod's own default). */
  cloud?: 'SECURE' | 'COMMUNITY';
  /** The CPU flavor of CPU pods (empty gpuTypes); default cpu5c. */
  cpuFlavorId?: string;
  /** Where an `http` port answers; `{podId}` and `{port}` are filled in. Default RunPod's proxy. */
  proxyUrlTemplate?: string;
  /** First backoff delay (5xx, network, unclear creates); default 1000. */
  retryDelayMs?: number;
  /** Consecutive failed attempts retried per request, and unclear creates per GPU; default 5. */
  maxRetries?: number;
  /** How long updateEnvironment waits for a STARTING pod to run before restarting it; default 120000. */
  restartWaitMs?: number;
  /** Between reads while waiting for that; default 2000. */
  pollIntervalMs?: number;
  /** Operator log (retries, fallbacks, what was created); every message is masked. */
  log?: (message: string) => void;
}

export class RunPodPodsProvider implements DeploymentProvider {
  readonly name = 'RUNPOD' as const;
  private readonly http: RunPodHttp;
  private readonly api: PodApi;
  private readonly catalog: PodGpuCatalog;
  private readonly secrets: SecretValues;
  private readonly operatorLog: (message: string) => void;
  private readonly diskGb: number;
  private readonly cloud: 'SECURE' | 'COMMUNITY';
  private readonly cpuFlavorId: string;
  private readonly proxyUrlTemplate: string;
  private readonly maxRetries: number;
  private readonly restartWaitMs: number;
  private readonly pollIntervalMs: number;

  constructor(options: RunPodPodsProviderOptions) {
    if (typeof options.apiKey !== 'string' || options.apiKey.trim() === '') throw new Error('RunPod pods provider: apiKey is required');
    const restBaseUrl = baseUrl(options.restBaseUrl ?? DEFAULT_REST_BASE_URL);
    this.maxRetries = integer(options.maxRetries, 5, 'maxRetries', 0);
    this.diskGb = integer(options.diskGb, DEFAULT_DISK_GB, 'diskGb', 1);
    this.restartWaitMs = integer(options.restartWaitMs, 120_000, 'restartWaitMs', 0);
    this.pollIntervalMs = integer(options.pollIntervalMs, 2000, 'pollIntervalMs', 1);
    this.cloud = options.cloud ?? 'SECURE';
    this.cpuFlavorId = options.cpuFlavorId ?? DEFAULT_CPU_FLAVOR;
    this.proxyUrlTemplate = options.proxyUrlTemplate ?? DEFAULT_PROXY_URL_TEMPLATE;
    if (!this.proxyUrlTemplate.includes('{podId}')) throw new Error('RunPod pods provider: proxyUrlTemplate must contain {podId}');
    const log = options.log ?? (() => undefined);
    this.secrets = new SecretValues([options.apiKey]);
    this.http = new RunPodHttp({ apiKey: options.apiKey, baseDelayMs: integer(options.retryDelayMs, 1000, 'retryDelayMs', 1), log });
    this.operatorLog = (message) => log(this.mask(message));
    this.api = new PodApi({ http: this.http, baseUrl: restBaseUrl, maxRetries: this.maxRetries });
    this.catalog = new PodGpuCatalog(this.http, restBaseUrl, this.maxRetries, this.operatorLog);
  }

  async provision(spec: DeploymentSpec, events: DeploymentEvents): Promise<ProvisionedDeployment> {
    const secrets = new SecretValues([...secretValuesOf(spec.env)]);
    const mask = (text: string): string => this.mask(secrets.mask(text));
    const say = (line: string): void => {
      const masked = mask(line);
      this.operatorLog(masked);
      events.log('system', masked);
    };
    try {
      const image = imageOf(spec);
      if (spec.name.trim() === '') throw new Error('RunPod pods provider: the deployment has no pod name');
      if (!Number.isInteger(spec.gpuCount) || spec.gpuCount < 1) throw badInput('gpuCount', 'must be a whole number of at least 1');
      const candidates = await this.catalog.resolve(spec.gpuTypes);
      const port = portOf(spec.env);
      const { pod, adopted } = await createPod(
        { api: this.api, backoff: (failures) => this.http.backoff(failures), maxRetries: this.maxRetries, log: say },
        {
          body: { name: spec.name, image, cloud: this.cloud, disk: this.diskGb, env: { ...spec.env, PORT: String(port) }, ports: [`${port}/http`] },
          candidates,
          gpuCount: spec.gpuCount,
          cpu: { id: this.cpuFlavorId, vcpuCount: vcpuCountOf(spec.cpu) },
        },
      );
      await this.record(pod, events);
      say(`RunPod pod ${pod.id} ${adopted ? 'adopted' : 'created'}${pod.gpuId ? ` on ${pod.gpuId}` : ''}; it is ${pod.status}`);
      return { providerRef: pod.id, endpointUrl: endpointUrlOf(pod, this.proxyUrlTemplate) };
    } catch (error) {
      throw maskedError(error, mask);
    }
  }

  async inspect(providerRef: string): Promise<ProviderView> {
    const id = podId(providerRef);
    try {
      const pod = await this.api.get(id);
      return pod ? viewOfPod(pod, this.proxyUrlTemplate) : goneView();
    } catch (error) {
      throw maskedError(podCallError(error, `read pod ${id}`), (text) => this.mask(text));
    }
  }

  /**
   * `PATCH /v2/pods/{id}` replaces the pod's whole environment, so `env` is merged over what the
   * pod has (PORT stays the exposed port). The container sees it when it starts: a RUNNING pod
   * is restarted, a STARTING one once it runs. A PROVISIONING pod has not started its container
   * and needs nothing more; an EXITED or ERROR pod takes it at its next start.
   */
  async updateEnvironment(providerRef: string, env: Record<string, string>): Promise<void> {
    const id = podId(providerRef);
    const secrets = new SecretValues([...secretValuesOf(env)]);
    const mask = (text: string): string => this.mask(secrets.mask(text));
    try {
      const current = await this.read(id, `read pod ${id}`);
      if (!current || current.status === 'TERMINATED') throw new DomainError('NOT_FOUND', `RunPod pod ${id} no longer exists`);
      for (const value of secretValuesOf(current.env)) secrets.add(value);
      const merged = { ...current.env, ...env };
      merged.PORT = String(httpPortOf(current) ?? portOf(merged));
      let pod: RunPodPod;
      try {
        pod = await this.api.update(id, { env: merged });
      } catch (error) {
        if (error instanceof RunPodHttpError && error.status === 404) throw new DomainError('NOT_FOUND', `RunPod pod ${id} no longer exists`);
        throw podCallError(error, `update the environment of pod ${id}`);
      }
      await this.restartForEnvironment(pod);
    } catch (error) {
      throw maskedError(error, mask);
    }
  }

  async terminate(providerRef: string): Promise<void> {
    const id = podId(providerRef);
    try {
      await this.terminatePod(id);
    } catch (error) {
      throw maskedError(error, (text) => this.mask(text));
    }
  }

  /** Terminate; a 409 means a status that does not allow it: stop first when that is allowed. */
  private async terminatePod(id: string): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      let refusal: RunPodHttpError;
      try {
        await this.api.action(id, 'terminate');
        this.operatorLog(`Terminated RunPod pod ${id}`);
        return;
      } catch (error) {
        if (error instanceof RunPodHttpError && error.status === 404) return;
        if (!(error instanceof RunPodHttpError && error.status === 409)) throw podCallError(error, `terminate pod ${id}`);
        refusal = error;
      }
      const pod = await this.read(id, `read pod ${id}`);
      if (!pod || pod.status === 'TERMINATED') return;
      if (attempt >= 3 || !pod.actions.includes('stop')) {
        throw new Error(
          `RunPod refused to terminate pod ${id} (HTTP 409${refusal.detail ? `: ${refusal.detail}` : ''}); it is ${pod.status} and allows ` +
            `${pod.actions.length > 0 ? pod.actions.join(', ') : 'no action'}: terminate it on RunPod so it stops billing`,
        );
      }
      this.operatorLog(`RunPod refused to terminate pod ${id} while ${pod.status} (HTTP 409); stopping it first`);
      await this.act(id, 'stop');
    }
  }

  private async restartForEnvironment(updated: RunPodPod): Promise<void> {
    const { id } = updated;
    const deadline = Date.now() + this.restartWaitMs;
    for (let pod: RunPodPod | null = updated; ;) {
      if (!pod || pod.status === 'TERMINATED') throw new DomainError('NOT_FOUND', `RunPod pod ${id} no longer exists`);
      const running = pod.status === 'RUNNING';
      if (running && (await this.act(id, 'restart'))) {
        this.operatorLog(`Updated the environment of RunPod pod ${id} and restarted it`);
        return;
      }
      if (!running && pod.status !== 'STARTING') {
        this.operatorLog(`Updated the environment of RunPod pod ${id} (${pod.status}): its container takes it when it starts`);
        return;
      }
      if (Date.now() >= deadline) {
        throw new Error(
          `the environment of RunPod pod ${id} was updated, but the pod ${running ? 'refused to restart (HTTP 409)' : 'was still STARTING'} ` +
            `after ${Math.round(this.restartWaitMs / 1000)} s, so it was not restarted; it takes the new environment at its next restart`,
        );
      }
      await sleep(this.pollIntervalMs);
      pod = await this.read(id, `read pod ${id}`);
    }
  }

  /** An action; false when RunPod answers 409 (not allowed in the pod's status now). */
  private async act(id: string, action: 'stop' | 'restart'): Promise<boolean> {
    try {
      await this.api.action(id, action);
      return true;
    } catch (error) {
      if (error instanceof RunPodHttpError && error.status === 409) return false;
      throw podCallError(error, `${action} pod ${id}`);
    }
  }

  private async read(id: string, doing: string): Promise<RunPodPod | null> {
    try {
      return await this.api.get(id);
    } catch (error) {
      throw podCallError(error, doing);
    }
  }

  /** events.provisioned; a pod nobody recorded is terminated so it does not bill unseen. */
  private async record(pod: RunPodPod, events: DeploymentEvents): Promise<void> {
    try {
      await events.provisioned(pod.id);
    } catch (error) {
      let outcome = 'terminated';
      try {
        await this.terminatePod(pod.id);
      } catch (terminateError) {
        outcome = `NOT terminated (${terminateError instanceof Error ? terminateError.message : String(terminateError)}): terminate it on RunPod`;
      }
      throw new Error(`the RunPod pod id ${pod.id} could not be recorded (${error instanceof Error ? error.message : String(error)}); the pod was ${outcome}`);
    }
  }

  private mask(text: string): string {
    return maskText(this.http.mask(text), this.secrets);
  }
}

function baseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error('RunPod pods provider: restBaseUrl is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('RunPod pods provider: restBaseUrl must be http(s)');
  return value.replace(/\/+$/, '');
}

function integer(value: number | undefined, fallback: number, name: string, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) throw new Error(`RunPod pods provider: ${name} must be an integer of at least ${min}`);
  return value;
}
