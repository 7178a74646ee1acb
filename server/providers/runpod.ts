import { letsGo, type ComputeProvider, type GpuType, type JobEvents, type JobOutcome, type ProducedArtifact, type TrainingJob } from './provider';
import { FALLBACK_GPU_TYPES, FALLBACK_PRICES_SOURCE, mapCatalog, usdToMicros, type CatalogGpu } from './runpod/catalog';
import { RunPodAbortedError, RunPodHttp, RunPodHttpError, RunPodSubmitUncertainError, RunPodUnreachableError, sleep, type RunPodResponse } from './runpod/http';
import { describeJobError, interpretFinalOutput, interpretStreamOutput, streamEntryOutput, type OutputSink } from './runpod/output';

/**
 * Training runs as RunPod serverless jobs (../shared/reference/runpod/README.md, "Serverless
 * jobs"): `POST /run` submits, `/stream` and `/status` are polled into logs, metrics and the
 * outcome, `/cancel` stops. What the job's handler must send back is documented in
 * ./runpod/output.ts; the HTTP retry rules are in ./runpod/http.ts.
 *
 * Submission is never retried once RunPod may have received it (5xx, reset, timeout): a
 * serverless job cannot be looked up by name, so a retry could start a second, billing job that
 * nobody follows. Such a run ends FAILED with a reason that says the job may exist and names
 * the run id it carries in `input.runId`. Only 429 and connection failures before anything was
 * sent are retried.
 */

/** RUNPOD_JOBS_URL's default: the serverless jobs API, `/{endpointId}/run` etc. below it. */
export const DEFAULT_RUNPOD_JOBS_URL = 'https://api.runpod.ai/v2';
/** RUNPOD_API_URL's default: the REST v2 server of openapi-v2.json (`servers[0]`); paths start with /v2. */
export const DEFAULT_RUNPOD_API_URL = 'https://api.runpod.io';
/** `/run` accepts at most 10 MB. */
export const MAX_RUN_PAYLOAD_BYTES = 10 * 1000 * 1000;
export const MIN_EXECUTION_TIMEOUT_MS = 5_000;
export const MAX_EXECUTION_TIMEOUT_MS = 7 * 24 * 60 * 60 * 1000;
const DEFAULT_EXECUTION_TIMEOUT_MS = 600_000;
/**
 * `ttl` is a job's whole lifespan from submission (queue and execution); when it ends RunPod
 * deletes the job whatever its state (RunPod's docs: 10 s .. 7 d, default 24 h). We allow an
 * hour of queueing on top of the execution timeout.
 */
const QUEUE_ALLOWANCE_MS = 60 * 60 * 1000;
const MAX_TTL_MS = 7 * 24 * 60 * 60 * 1000;
const CATALOG_TTL_MS = 10 * 60 * 1000;
/** A fallback is kept for a minute only, so the real catalog is tried again soon. */
const FALLBACK_TTL_MS = 60 * 1000;
/** Polls of a final job whose stream still returns outputs before giving up on draining it. */
const MAX_DRAIN_POLLS = 1000;
/** How long the stream of a final job must stay empty before it is taken as drained: outputs can reach it just after the final status. */
const DEFAULT_FINAL_STREAM_SETTLE_MS = 2000;
const SUBMIT_TIMEOUT_MS = 60_000;
const POLL_TIMEOUT_MS = 30_000;

const FINAL_STATES = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT']);

export interface RunPodProviderOptions {
  apiKey: string;
  /** RUNPOD_JOBS_URL; default https://api.runpod.ai/v2. */
  jobsBaseUrl?: string;
  /** RUNPOD_API_URL; default https://api.runpod.io (the catalog is `{restBaseUrl}/v2/catalog/gpus`). */
  restBaseUrl?: string;
  /**
   * RUNPOD_ENDPOINTS: our GPU type id -> the serverless endpoint created with that GPU. A GPU
   * offered only when it is mapped (and in the catalog), priced at its catalog price.
   */
  endpoints?: { gpuType: string; endpointId: string }[];
  /**
   * RUNPOD_ENDPOINT_ID: an endpoint whose GPU types are read from RunPod (`GET /v2/serverless/{id}`,
   * its `gpu.pools` less `gpu.excludedTypes`); each is offered at the highest serverless price
   * among them, as a worker may land on any.
   */
  endpointId?: string;
  /** Default 1000 (the reference: poll about once a second); also the first backoff delay. */
  pollIntervalMs?: number;
  /** Consecutive failed attempts retried per request; default 8. */
  maxRetries?: number;
  /** How long a final job's `/stream` must stay empty before it counts as drained; default 2000. */
  finalStreamSettleMs?: number;
  /** Operator log (retries, fallbacks); every message is masked. */
  log?: (message: string) => void;
}

/** The body of `POST /run`. */
export interface RunPodRunRequest {
  input: {
    runId: string;
    task: TrainingJob['task'];
    round: number;
    files: { name: string; kind: string; sha256: string; sizeBytes: number; url: string }[];
    hyperparameters: TrainingJob['hyperparameters'];
    gpuType: string;
    artifactUploadUrl?: string;
    image?: string;
  };
  policy: { executionTimeout: number; ttl: number };
}

interface StatusBody {
  id?: unknown;
  status?: unknown;
  output?: unknown;
  error?: unknown;
  delayTime?: unknown;
  executionTime?: unknown;
}

/** `timeoutSeconds` as RunPod's `executionTimeout` (ms), clamped to 5 s .. 7 d. */
export function executionTimeoutMs(timeoutSeconds: number): number {
  if (!Number.isFinite(timeoutSeconds)) return DEFAULT_EXECUTION_TIMEOUT_MS;
  return Math.min(MAX_EXECUTION_TIMEOUT_MS, Math.max(MIN_EXECUTION_TIMEOUT_MS, Math.round(timeoutSeconds * 1000)));
}

export function buildRunRequest(job: TrainingJob): RunPodRunRequest {
  const executionTimeout = executionTimeoutMs(job.timeoutSeconds);
  return {
    input: {
      runId: job.runId,
      task: job.task,
      round: job.roundNumber,
      files: job.files.map(({ name, kind, sha256, sizeBytes, url }) => ({ name, kind, sha256, sizeBytes, url })),
      hyperparameters: job.hyperparameters,
      gpuType: job.gpuType.providerGpuId,
      ...(job.artifactUploadUrl ? { artifactUploadUrl: job.artifactUploadUrl } : {}),
      ...(job.image ? { image: job.image } : {}),
    },
    policy: { executionTimeout, ttl: Math.min(MAX_TTL_MS, executionTimeout + QUEUE_ALLOWANCE_MS) },
  };
}

export class RunPodProvider implements ComputeProvider {
  readonly name = 'RUNPOD' as const;
  private readonly http: RunPodHttp;
  private readonly jobsBaseUrl: string;
  private readonly restBaseUrl: string;
  private readonly mapped: Map<string, string>;
  private readonly endpointId: string | undefined;
  private readonly pollIntervalMs: number;
  private readonly maxRetries: number;
  private readonly finalStreamSettleMs: number;
  private readonly operatorLog: (message: string) => void;
  private catalog: { types: CatalogGpu[]; expiresAt: number } | null = null;
  private catalogLoading: Promise<CatalogGpu[]> | null = null;
  private endpointGpus: { types: GpuType[]; expiresAt: number } | null = null;
  /** Mapped GPU ids the catalog does not list, already told to the operator. */
  private readonly unlisted = new Set<string>();

  constructor(options: RunPodProviderOptions) {
    if (typeof options.apiKey !== 'string' || options.apiKey.trim() === '') throw new Error('RunPod provider: apiKey is required');
    const endpointIds = [...(options.endpointId === undefined ? [] : [options.endpointId]), ...(options.endpoints ?? []).map((entry) => entry.endpointId)];
    if (endpointIds.length === 0) throw new Error('RunPod provider: name an endpoint (endpoints or endpointId)');
    for (const id of endpointIds) {
      if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(id)) throw new Error('RunPod provider: an endpoint id is letters, digits, - and _');
    }
    this.mapped = new Map((options.endpoints ?? []).map((entry) => [entry.gpuType, entry.endpointId]));
    this.jobsBaseUrl = baseUrl(options.jobsBaseUrl ?? DEFAULT_RUNPOD_JOBS_URL, 'jobsBaseUrl');
    this.restBaseUrl = baseUrl(options.restBaseUrl ?? DEFAULT_RUNPOD_API_URL, 'restBaseUrl');
    this.endpointId = options.endpointId;
    this.pollIntervalMs = positiveInteger(options.pollIntervalMs, 1000, 'pollIntervalMs', 1);
    this.maxRetries = positiveInteger(options.maxRetries, 8, 'maxRetries', 0);
    this.finalStreamSettleMs = positiveInteger(options.finalStreamSettleMs, DEFAULT_FINAL_STREAM_SETTLE_MS, 'finalStreamSettleMs', 0);
    const log = options.log ?? (() => undefined);
    this.http = new RunPodHttp({ apiKey: options.apiKey, baseDelayMs: this.pollIntervalMs, log });
    this.operatorLog = (message) => log(this.http.mask(message));
  }

  /**
   * The GPU types a run can choose, those an endpoint runs: the ones RUNPOD_ENDPOINTS maps, at
   * their catalog price, then those of RUNPOD_ENDPOINT_ID's endpoint (see the options).
   */
  async gpuTypes(): Promise<GpuType[]> {
    const catalog = await this.serverlessCatalog();
    const offered: GpuType[] = catalog.filter((type) => this.mapped.has(type.id)).map(({ pool: _pool, ...type }) => type);
    for (const gpu of this.mapped.keys()) {
      if (offered.some((type) => type.id === gpu) || this.unlisted.has(gpu)) continue;
      this.unlisted.add(gpu);
      this.operatorLog(`RUNPOD_ENDPOINTS maps ${gpu}, which the serverless GPU catalog does not list: not offered`);
    }
    if (this.endpointId) offered.push(...(await this.gpusOfEndpoint(this.endpointId, catalog)).filter((type) => !this.mapped.has(type.id)));
    return offered.map((type) => ({ ...type }));
  }

  /** The serverless GPU catalog, cached 10 minutes; the built-in table when it cannot be read. */
  private async serverlessCatalog(): Promise<CatalogGpu[]> {
    if (this.catalog && this.catalog.expiresAt > Date.now()) return this.catalog.types;
    this.catalogLoading ??= this.loadCatalog().finally(() => {
      this.catalogLoading = null;
    });
    return this.catalogLoading;
  }

  /** The catalog GPUs an endpoint's workers may run on, each at the highest price among them; cached as the catalog. */
  private async gpusOfEndpoint(endpointId: string, catalog: CatalogGpu[]): Promise<GpuType[]> {
    if (this.endpointGpus && this.endpointGpus.expiresAt > Date.now()) return this.endpointGpus.types;
    let gpu: { pools?: unknown; excludedTypes?: unknown } | null | undefined;
    try {
      const { body } = await this.http.request({
        method: 'GET',
        url: `${this.restBaseUrl}/v2/serverless/${encodeURIComponent(endpointId)}`,
        label: `GET /v2/serverless/${endpointId}`,
        mode: 'idempotent',
        maxRetries: Math.min(this.maxRetries, 2),
        timeoutMs: 15_000,
      });
      gpu = (body as { gpu?: { pools?: unknown; excludedTypes?: unknown } | null } | null)?.gpu;
    } catch (error) {
      // What was known stays offered (a run being taken over needs its GPU type); nothing is guessed.
      const known = this.endpointGpus?.types ?? [];
      this.operatorLog(
        `could not read the GPU types of RunPod endpoint ${endpointId} (${messageOf(error)}): ${known.length > 0 ? 'offering those read before' : 'RUNPOD runs offer none until it can'}`,
      );
      this.endpointGpus = { types: known, expiresAt: Date.now() + FALLBACK_TTL_MS };
      return known;
    }
    const pools = Array.isArray(gpu?.pools) ? gpu.pools.filter((pool): pool is string => typeof pool === 'string') : [];
    const excluded = new Set(
      Array.isArray(gpu?.excludedTypes) ? gpu.excludedTypes.filter((id): id is string => typeof id === 'string').map((id) => id.trim()) : [],
    );
    const eligible = catalog.filter((type) => type.pool !== null && pools.includes(type.pool) && !excluded.has(type.providerGpuId));
    const highest = eligible.reduce<string | null>(
      (max, type) => (max === null || (usdToMicros(type.pricePerHourUsd) ?? 0) > (usdToMicros(max) ?? 0) ? type.pricePerHourUsd : max),
      null,
    );
    const types = eligible.map(({ pool: _pool, ...type }) => ({ ...type, pricePerHourUsd: highest ?? type.pricePerHourUsd }));
    if (types.length === 0) this.operatorLog(`RunPod endpoint ${endpointId} runs on no GPU of the serverless catalog (pools ${pools.join(', ') || 'none'})`);
    this.endpointGpus = { types, expiresAt: Date.now() + CATALOG_TTL_MS };
    return types;
  }

  /** The endpoint that runs a GPU type: the one RUNPOD_ENDPOINTS maps it to, else RUNPOD_ENDPOINT_ID's. */
  private endpointFor(job: TrainingJob): string {
    const endpoint = this.mapped.get(job.gpuType.id) ?? this.endpointId;
    if (!endpoint) throw new Error(`no RunPod endpoint runs ${job.gpuType.id}`);
    return endpoint;
  }

  async run(job: TrainingJob, events: JobEvents, signal: AbortSignal): Promise<JobOutcome> {
    if (signal.aborted) return outcome('ABORTED', null, 0);
    const endpoint = this.endpointFor(job);
    let payload: string;
    try {
      payload = JSON.stringify(buildRunRequest(job));
    } catch (error) {
      return outcome('FAILED', `the job input cannot be sent to RunPod: ${messageOf(error)}`, 0);
    }
    const size = Buffer.byteLength(payload, 'utf8');
    if (size > MAX_RUN_PAYLOAD_BYTES) {
      return outcome(
        'FAILED',
        `the job input is ${size} bytes; RunPod accepts at most 10 MB (${MAX_RUN_PAYLOAD_BYTES} bytes) per job, so nothing was submitted`,
        0,
      );
    }

    let answer: RunPodResponse;
    try {
      answer = await this.http.request({
        method: 'POST',
        url: this.jobUrl(endpoint, 'run'),
        label: 'POST /run',
        body: payload,
        mode: 'submit',
        maxRetries: this.maxRetries,
        timeoutMs: SUBMIT_TIMEOUT_MS,
        signal,
      });
    } catch (error) {
      // Aborted while waiting out a 429 or a connection failure: nothing was submitted.
      if (error instanceof RunPodAbortedError) return outcome('ABORTED', null, 0);
      const reason = this.mask(this.submitFailure(error, job, endpoint));
      if (error instanceof RunPodSubmitUncertainError) return { ...outcome('FAILED', reason, 0), costUnknown: this.mask(this.unknownJobCost(job, endpoint)) };
      return outcome('FAILED', reason, 0);
    }

    const jobId = (answer.body as { id?: unknown } | null)?.id;
    if (typeof jobId !== 'string' || !isJobId(jobId)) {
      return {
        ...outcome(
          'FAILED',
          this.mask(
            `RunPod accepted the submission but answered no usable job id (${JSON.stringify(answer.body)?.slice(0, 200)}); a job with input.runId ${job.runId} may exist on endpoint ${endpoint}`,
          ),
          0,
        ),
        costUnknown: this.mask(this.unknownJobCost(job, endpoint)),
      };
    }
    try {
      await events.submitted(jobId);
    } catch (error) {
      // Nobody could find this job again: stop it rather than let it bill unseen.
      const cancel = await this.cancel(endpoint, jobId);
      return outcome(
        'FAILED',
        this.mask(
          `the RunPod job id ${jobId} could not be recorded (${messageOf(error)}); the job was ${cancel.ok ? 'cancelled' : `NOT cancelled (${cancel.reason})`}`,
        ),
        0,
      );
    }
    events.log('system', `Submitted to RunPod endpoint ${endpoint} as job ${jobId}`);
    return this.follow(endpoint, jobId, events, signal, true);
  }

  /** Follows a job submitted before a restart, without submitting anything. */
  async resume(job: TrainingJob, providerJobId: string, events: JobEvents, signal: AbortSignal): Promise<JobOutcome> {
    if (!isJobId(providerJobId)) return outcome('FAILED', this.mask(`"${providerJobId}" is not a RunPod job id (run ${job.runId})`), 0);
    events.log('system', `Following RunPod job ${providerJobId} again`);
    return this.follow(this.endpointFor(job), providerJobId, events, signal, false);
  }

  /** After a take-over: how long the job has executed so far, so its cost accrues from its own start. */
  private async catchUp(endpoint: string, jobId: string, progress: Progress, events: JobEvents, signal: AbortSignal): Promise<void> {
    const status = (await this.get(endpoint, 'status', jobId, signal)).body as StatusBody | null;
    const executed = secondsFromMs(status?.executionTime);
    if (status?.status === 'IN_PROGRESS' || (executed ?? 0) > 0) progress.markRunning();
    if (executed !== null && executed > 0) {
      events.executed?.(executed);
      events.log('system', `RunPod job ${jobId} has executed ${executed.toFixed(1)} s so far`);
    }
  }

  /** `fromSubmission`: this follower has read the job's stream from its start (not after a take-over). */
  private async follow(endpoint: string, jobId: string, events: JobEvents, signal: AbortSignal, fromSubmission: boolean): Promise<JobOutcome> {
    const progress = new Progress(endpoint, jobId, events, fromSubmission);
    const sink = this.sinkFor(events, progress);
    try {
      if (!fromSubmission) await this.catchUp(endpoint, jobId, progress, events, signal);
      for (;;) {
        await this.pollStreamUntilFinal(jobId, sink, progress, signal);
        const status = (await this.get(endpoint, 'status', jobId, signal)).body as StatusBody | null;
        if (status && typeof status.status === 'string' && FINAL_STATES.has(status.status)) {
          return this.finish(jobId, status, sink, progress, events);
        }
        // /stream said final but /status does not (yet): keep following.
        await this.pause(signal);
      }
    } catch (error) {
      if (signal.aborted && letsGo(signal.reason)) {
        // Another process follows the job now (or will, once this one has shut down): it goes on.
        events.log('system', `Stopped following RunPod job ${jobId} here; it keeps running`);
        return { status: 'ABORTED', exitCode: null, failureReason: null, executionSeconds: null, artifacts: [] };
      }
      if (signal.aborted || error instanceof RunPodAbortedError) return this.abort(jobId, sink, progress, events);
      return this.lostTrack(jobId, error, progress, events);
    }
  }

  /**
   * Polls `/stream` about every `pollIntervalMs` until the job is final and its stream has stayed
   * empty for `finalStreamSettleMs` (outputs can arrive with the final status or just after it),
   * passing each output to the sink in order.
   */
  private async pollStreamUntilFinal(jobId: string, sink: OutputSink, progress: Progress, signal: AbortSignal): Promise<void> {
    let drains = 0;
    let emptySince: number | null = null;
    for (;;) {
      if (signal.aborted) throw new RunPodAbortedError('follow');
      const body = (await this.get(progress.endpoint, 'stream', jobId, signal)).body as { status?: unknown; stream?: unknown } | null;
      const items = Array.isArray(body?.stream) ? (body.stream as unknown[]) : [];
      const status = typeof body?.status === 'string' ? body.status : undefined;
      if (items.length > 0 || status === 'IN_PROGRESS') progress.markRunning();
      this.takeStream(items, sink, progress);
      if (status !== undefined && FINAL_STATES.has(status)) {
        if (items.length > 0) {
          emptySince = null;
          if (++drains > MAX_DRAIN_POLLS) return;
          continue;
        }
        emptySince ??= Date.now();
        if (Date.now() - emptySince >= this.finalStreamSettleMs) return;
      }
      await this.pause(signal);
    }
  }

  private takeStream(items: unknown[], sink: OutputSink, progress: Progress): void {
    for (const item of items) interpretStreamOutput(streamEntryOutput(item), sink);
    progress.streamed += items.length;
  }

  private finish(jobId: string, status: StatusBody, sink: OutputSink, progress: Progress, events: JobEvents): JobOutcome {
    const executionSeconds = secondsFromMs(status.executionTime);
    if (status.status !== 'CANCELLED' && (status.status === 'COMPLETED' || (executionSeconds ?? 0) > 0)) progress.markRunning();
    if (status.status === 'COMPLETED') interpretFinalOutput(status.output, sink, progress.fromSubmission ? progress.streamed : null, progress.highestStep);
    const executed = executionSeconds === null ? 'without reporting its execution time' : `after ${executionSeconds.toFixed(1)} s of execution`;
    events.log('system', `RunPod job ${jobId} ended ${String(status.status)} ${executed}`);
    switch (status.status) {
      case 'COMPLETED':
        return { status: 'SUCCEEDED', exitCode: 0, failureReason: null, executionSeconds, artifacts: progress.artifacts() };
      case 'FAILED': {
        const output = status.output as { error?: unknown; exitCode?: unknown } | null | undefined;
        const reason = describeJobError(status.error) ?? describeJobError(output?.error) ?? `RunPod job ${jobId} failed without an error message`;
        const exitCode = typeof output?.exitCode === 'number' && Number.isInteger(output.exitCode) ? output.exitCode : null;
        return { status: 'FAILED', exitCode, failureReason: this.mask(reason), executionSeconds, artifacts: [] };
      }
      case 'TIMED_OUT':
        return { status: 'TIMED_OUT', exitCode: null, failureReason: `RunPod stopped job ${jobId} at its execution timeout`, executionSeconds, artifacts: [] };
      default: // CANCELLED, by someone else (ours goes through abort())
        return {
          status: 'ABORTED',
          exitCode: null,
          failureReason: `RunPod job ${jobId} was cancelled outside the marketplace`,
          executionSeconds,
          artifacts: [],
        };
    }
  }

  /** The signal aborted: cancel the job, collect what it printed until then, resolve ABORTED. */
  private async abort(jobId: string, sink: OutputSink, progress: Progress, events: JobEvents): Promise<JobOutcome> {
    const cancel = await this.cancel(progress.endpoint, jobId);
    events.log('system', cancel.ok ? `RunPod job ${jobId} cancelled` : this.mask(`RunPod job ${jobId} could not be cancelled: ${cancel.reason}`));
    let executionSeconds: number | null = null;
    try {
      const stream = await this.once(progress.endpoint, 'stream', jobId);
      const items = Array.isArray((stream as { stream?: unknown } | null)?.stream) ? (stream as { stream: unknown[] }).stream : [];
      this.takeStream(items, sink, progress);
      const status = (await this.once(progress.endpoint, 'status', jobId)) as StatusBody | null;
      executionSeconds = secondsFromMs(status?.executionTime);
    } catch {
      // Best effort: the cancellation is what matters.
    }
    const unconfirmed = cancel.ok ? null : this.mask(`RunPod did not confirm the cancellation of job ${jobId} (${cancel.reason}); it may still be running`);
    return {
      status: 'ABORTED',
      exitCode: null,
      failureReason: unconfirmed,
      executionSeconds,
      ...(unconfirmed ? { costUnknown: `the cost is unknown: ${unconfirmed}, and billing` } : {}),
      artifacts: [],
    };
  }

  /** Polling failed for good. The job may still be running: try to stop it, then report FAILED. */
  private async lostTrack(jobId: string, error: unknown, progress: Progress, events: JobEvents): Promise<JobOutcome> {
    let reason: string;
    let tryCancel = true;
    if (error instanceof RunPodHttpError && (error.status === 401 || error.status === 403)) {
      reason = `RunPod refused the API key while following job ${jobId} (HTTP ${error.status}${error.detail ? `: ${error.detail}` : ''})`;
      tryCancel = false;
    } else if (error instanceof RunPodHttpError && error.status === 404) {
      reason = `RunPod no longer knows job ${jobId} (results are kept 30 minutes after a job ends, and a job past its ttl is deleted)`;
      tryCancel = false;
    } else if (error instanceof RunPodHttpError || error instanceof RunPodUnreachableError) {
      reason = `lost track of RunPod job ${jobId}: ${error.message}`;
    } else {
      reason = `internal error while following RunPod job ${jobId}: ${messageOf(error)}`;
    }
    let stopped = false;
    if (tryCancel) {
      const cancel = await this.cancel(progress.endpoint, jobId);
      stopped = cancel.ok;
      reason += cancel.ok ? '; the job was cancelled' : `; the job could not be cancelled (${cancel.reason}) and may still be running`;
    }
    this.operatorLog(reason);
    try {
      events.log('system', this.mask(reason));
    } catch {
      // the sink itself may be what failed
    }
    return {
      status: 'FAILED',
      exitCode: null,
      failureReason: this.mask(reason),
      executionSeconds: null,
      ...(stopped ? {} : { costUnknown: `the cost is unknown: the marketplace lost track of RunPod job ${jobId} and cannot tell how long it ran` }),
      artifacts: [],
    };
  }

  private async cancel(endpoint: string, jobId: string): Promise<{ ok: true } | { ok: false; reason: string }> {
    try {
      const { body } = await this.http.request({
        method: 'POST',
        url: this.jobUrl(endpoint, 'cancel', jobId),
        label: `POST /cancel/${jobId}`,
        mode: 'idempotent', // cancelling twice is harmless
        maxRetries: this.maxRetries,
        timeoutMs: POLL_TIMEOUT_MS,
      });
      const status = (body as { status?: unknown } | null)?.status;
      if (typeof status === 'string' && FINAL_STATES.has(status)) return { ok: true };
      return { ok: false, reason: `RunPod answered status ${JSON.stringify(status)}` };
    } catch (error) {
      const reason = this.mask(messageOf(error));
      this.operatorLog(`RunPod job ${jobId} could not be cancelled: ${reason}`);
      return { ok: false, reason };
    }
  }

  private async loadCatalog(): Promise<CatalogGpu[]> {
    try {
      const { body } = await this.http.request({
        method: 'GET',
        url: `${this.restBaseUrl}/v2/catalog/gpus`,
        label: 'GET /v2/catalog/gpus',
        mode: 'idempotent',
        maxRetries: Math.min(this.maxRetries, 2),
        timeoutMs: 15_000,
      });
      const { gpuTypes, skipped } = mapCatalog(body);
      if (gpuTypes.length === 0) throw new Error(`it lists no GPU with a serverless price (${skipped.length} left out)`);
      this.catalog = { types: gpuTypes, expiresAt: Date.now() + CATALOG_TTL_MS };
      return gpuTypes;
    } catch (error) {
      const prices = FALLBACK_GPU_TYPES.map((type) => `${type.id} ${type.pricePerHourUsd}`).join(', ');
      this.operatorLog(`RunPod GPU catalog unavailable (${messageOf(error)}); using the built-in price table, ${FALLBACK_PRICES_SOURCE} (${prices} USD/h)`);
      const types = FALLBACK_GPU_TYPES.map((type) => ({ ...type }));
      this.catalog = { types, expiresAt: Date.now() + FALLBACK_TTL_MS };
      return types;
    }
  }

  private unknownJobCost(job: TrainingJob, endpoint: string): string {
    return `the cost is unknown: a RunPod job with input.runId ${job.runId} may have run on endpoint ${endpoint} (and billed) without the marketplace following it; RunPod's billing for the endpoint shows what it cost`;
  }

  private submitFailure(error: unknown, job: TrainingJob, endpoint: string): string {
    if (error instanceof RunPodHttpError) {
      const detail = error.detail ? `: ${error.detail}` : '';
      switch (error.status) {
        case 401:
        case 403:
          return `RunPod refused the API key (HTTP ${error.status}${detail})`;
        case 402:
          return `RunPod refused the job: the account balance is insufficient (HTTP 402${detail})`;
        case 404:
          return `RunPod has no endpoint ${endpoint} (HTTP 404${detail})`;
        case 400:
        case 422:
          return `RunPod rejected the job (HTTP ${error.status})${detail}`;
        case 429:
          return `RunPod kept refusing the submission as rate limited (HTTP 429 after ${this.maxRetries} retries); nothing was submitted`;
        default:
          return `RunPod refused the job (HTTP ${error.status}${detail})`;
      }
    }
    if (error instanceof RunPodSubmitUncertainError) {
      return (
        `the submission to RunPod has an unknown outcome (${error.reason}), so the job may or may not exist; ` +
        `it was not resubmitted because a second submission could run (and bill) twice. Look for a job with ` +
        `input.runId ${job.runId} on endpoint ${endpoint} and cancel it if it is there`
      );
    }
    if (error instanceof RunPodUnreachableError) {
      return `RunPod could not be reached to submit the job (${error.reason}; ${error.attempts} attempts); nothing was submitted`;
    }
    return `the submission to RunPod failed: ${messageOf(error)}`;
  }

  private sinkFor(events: JobEvents, progress: Progress): OutputSink {
    return {
      log: (stream, line) => events.log(stream, line),
      metric: (name, step, value) => {
        progress.highestStep = Math.max(progress.highestStep, step);
        events.metric(name, step, value);
      },
      artifacts: (artifacts) => progress.addArtifacts(artifacts),
      problem: (message) => {
        this.operatorLog(`RunPod job ${progress.jobId}: ${message}`);
        events.log('system', this.mask(message));
      },
    };
  }

  private get(endpoint: string, operation: 'status' | 'stream', jobId: string, signal: AbortSignal): Promise<RunPodResponse> {
    return this.http.request({
      method: 'GET',
      url: this.jobUrl(endpoint, operation, jobId),
      label: `GET /${operation}/${jobId}`,
      mode: 'idempotent',
      maxRetries: this.maxRetries,
      timeoutMs: POLL_TIMEOUT_MS,
      signal,
    });
  }

  /** One quick attempt (after a cancel), no signal. */
  private async once(endpoint: string, operation: 'status' | 'stream', jobId: string): Promise<unknown> {
    const { body } = await this.http.request({
      method: 'GET',
      url: this.jobUrl(endpoint, operation, jobId),
      label: `GET /${operation}/${jobId}`,
      mode: 'idempotent',
      maxRetries: 1,
      timeoutMs: 10_000,
    });
    return body;
  }

  private async pause(signal: AbortSignal): Promise<void> {
    try {
      await sleep(this.pollIntervalMs, signal);
    } catch {
      throw new RunPodAbortedError('follow');
    }
  }

  private jobUrl(endpoint: string, operation: 'run' | 'status' | 'stream' | 'cancel', jobId?: string): string {
    const base = `${this.jobsBaseUrl}/${encodeURIComponent(endpoint)}/${operation}`;
    return jobId === undefined ? base : `${base}/${encodeURIComponent(jobId)}`;
  }

  private mask(text: string): string {
    return this.http.mask(text);
  }
}

/** What the provider knows of a job while following it. */
class Progress {
  private running = false;
  private readonly produced = new Map<string, ProducedArtifact>();
  /** Outputs read from `/stream` so far. */
  streamed = 0;
  /** The highest metric step seen so far (the step of the metrics in a final output). */
  highestStep = 0;

  constructor(
    /** The endpoint the job was submitted to. */
    readonly endpoint: string,
    readonly jobId: string,
    private readonly events: JobEvents,
    /** Followed from its submission, so `streamed` counts every output it produced. */
    readonly fromSubmission: boolean,
  ) {}

  /** First sign that the job executes: IN_PROGRESS, an output, or a final state after execution. */
  markRunning(): void {
    if (this.running) return;
    this.running = true;
    this.events.running();
    this.events.log('system', `RunPod job ${this.jobId} is running`);
  }

  addArtifacts(artifacts: ProducedArtifact[]): void {
    for (const artifact of artifacts) this.produced.set(artifact.name, artifact);
  }

  artifacts(): ProducedArtifact[] {
    return [...this.produced.values()];
  }
}

function outcome(status: JobOutcome['status'], failureReason: string | null, executionSeconds: number): JobOutcome {
  return { status, exitCode: null, failureReason, executionSeconds, artifacts: [] };
}

function secondsFromMs(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value / 1000 : null;
}

function isJobId(id: string): boolean {
  return /^[A-Za-z0-9._:-]{1,200}$/.test(id);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function baseUrl(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`RunPod provider: ${name} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`RunPod provider: ${name} must be http(s)`);
  return value.replace(/\/+$/, '');
}

function positiveInteger(value: number | undefined, fallback: number, name: string, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) throw new Error(`RunPod provider: ${name} must be an integer of at least ${min}`);
  return value;
}
