import type { ComputeProvider, GpuType, JobEvents, JobOutcome, ProducedArtifact, TrainingJob } from './provider';
import { FALLBACK_GPU_TYPES, mapCatalog } from './runpod/catalog';
import { RunPodAbortedError, RunPodHttp, RunPodHttpError, RunPodSubmitUncertainError, RunPodUnreachableError, sleep, type RunPodResponse } from './runpod/http';
import { artifactsFromFinalOutput, describeJobError, interpretStreamOutput, type OutputSink } from './runpod/output';

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
const SUBMIT_TIMEOUT_MS = 60_000;
const POLL_TIMEOUT_MS = 30_000;

const FINAL_STATES = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT']);

export interface RunPodProviderOptions {
  apiKey: string;
  /** RUNPOD_JOBS_URL; default https://api.runpod.ai/v2. */
  jobsBaseUrl?: string;
  /** RUNPOD_API_URL; default https://api.runpod.io (the catalog is `{restBaseUrl}/v2/catalog/gpus`). */
  restBaseUrl?: string;
  endpointId: string;
  /** Default 1000 (the reference: poll about once a second); also the first backoff delay. */
  pollIntervalMs?: number;
  /** Consecutive failed attempts retried per request; default 8. */
  maxRetries?: number;
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
  private readonly endpointId: string;
  private readonly pollIntervalMs: number;
  private readonly maxRetries: number;
  private readonly operatorLog: (message: string) => void;
  private catalog: { types: GpuType[]; expiresAt: number } | null = null;
  private catalogLoading: Promise<GpuType[]> | null = null;

  constructor(options: RunPodProviderOptions) {
    if (typeof options.apiKey !== 'string' || options.apiKey.trim() === '') throw new Error('RunPod provider: apiKey is required');
    if (typeof options.endpointId !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(options.endpointId)) {
      throw new Error('RunPod provider: endpointId must be a RunPod endpoint id (letters, digits, - and _)');
    }
    this.jobsBaseUrl = baseUrl(options.jobsBaseUrl ?? DEFAULT_RUNPOD_JOBS_URL, 'jobsBaseUrl');
    this.restBaseUrl = baseUrl(options.restBaseUrl ?? DEFAULT_RUNPOD_API_URL, 'restBaseUrl');
    this.endpointId = options.endpointId;
    this.pollIntervalMs = positiveInteger(options.pollIntervalMs, 1000, 'pollIntervalMs', 1);
    this.maxRetries = positiveInteger(options.maxRetries, 8, 'maxRetries', 0);
    const log = options.log ?? (() => undefined);
    this.http = new RunPodHttp({ apiKey: options.apiKey, baseDelayMs: this.pollIntervalMs, log });
    this.operatorLog = (message) => log(this.http.mask(message));
  }

  /** The serverless GPU catalog, cached 10 minutes; the built-in table when it cannot be read. */
  async gpuTypes(): Promise<GpuType[]> {
    if (this.catalog && this.catalog.expiresAt > Date.now()) return this.catalog.types.map((type) => ({ ...type }));
    this.catalogLoading ??= this.loadCatalog().finally(() => {
      this.catalogLoading = null;
    });
    return (await this.catalogLoading).map((type) => ({ ...type }));
  }

  async run(job: TrainingJob, events: JobEvents, signal: AbortSignal): Promise<JobOutcome> {
    if (signal.aborted) return outcome('ABORTED', null, 0);
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
        url: this.jobUrl('run'),
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
      return outcome('FAILED', this.mask(this.submitFailure(error, job)), 0);
    }

    const jobId = (answer.body as { id?: unknown } | null)?.id;
    if (typeof jobId !== 'string' || !isJobId(jobId)) {
      return outcome(
        'FAILED',
        this.mask(
          `RunPod accepted the submission but answered no usable job id (${JSON.stringify(answer.body)?.slice(0, 200)}); a job with input.runId ${job.runId} may exist on endpoint ${this.endpointId}`,
        ),
        0,
      );
    }
    try {
      await events.submitted(jobId);
    } catch (error) {
      // Nobody could find this job again: stop it rather than let it bill unseen.
      const cancel = await this.cancel(jobId);
      return outcome(
        'FAILED',
        this.mask(
          `the RunPod job id ${jobId} could not be recorded (${messageOf(error)}); the job was ${cancel.ok ? 'cancelled' : `NOT cancelled (${cancel.reason})`}`,
        ),
        0,
      );
    }
    events.log('system', `Submitted to RunPod endpoint ${this.endpointId} as job ${jobId}`);
    return this.follow(jobId, events, signal);
  }

  /** Follows a job submitted before a restart, without submitting anything. */
  async resume(job: TrainingJob, providerJobId: string, events: JobEvents, signal: AbortSignal): Promise<JobOutcome> {
    if (!isJobId(providerJobId)) return outcome('FAILED', this.mask(`"${providerJobId}" is not a RunPod job id (run ${job.runId})`), 0);
    events.log('system', `Following RunPod job ${providerJobId} again`);
    return this.follow(providerJobId, events, signal);
  }

  private async follow(jobId: string, events: JobEvents, signal: AbortSignal): Promise<JobOutcome> {
    const progress = new Progress(jobId, events);
    const sink = this.sinkFor(events, progress);
    try {
      for (;;) {
        await this.pollStreamUntilFinal(jobId, sink, progress, signal);
        const status = (await this.get(`status`, jobId, signal)).body as StatusBody | null;
        if (status && typeof status.status === 'string' && FINAL_STATES.has(status.status)) {
          return this.finish(jobId, status, sink, progress, events);
        }
        // /stream said final but /status does not (yet): keep following.
        await this.pause(signal);
      }
    } catch (error) {
      if (signal.aborted || error instanceof RunPodAbortedError) return this.abort(jobId, sink, progress, events);
      return this.lostTrack(jobId, error, progress, events);
    }
  }

  /**
   * Polls `/stream` about every `pollIntervalMs` until the job is final and its stream is empty
   * (so every output is read), passing each output to the sink in order.
   */
  private async pollStreamUntilFinal(jobId: string, sink: OutputSink, progress: Progress, signal: AbortSignal): Promise<void> {
    let drains = 0;
    for (;;) {
      if (signal.aborted) throw new RunPodAbortedError('follow');
      const body = (await this.get('stream', jobId, signal)).body as { status?: unknown; stream?: unknown } | null;
      const items = Array.isArray(body?.stream) ? (body.stream as unknown[]) : [];
      const status = typeof body?.status === 'string' ? body.status : undefined;
      if (items.length > 0 || status === 'IN_PROGRESS') progress.markRunning();
      for (const item of items) {
        if (item && typeof item === 'object') interpretStreamOutput((item as { output?: unknown }).output, sink);
      }
      if (status !== undefined && FINAL_STATES.has(status)) {
        if (items.length === 0 || ++drains > MAX_DRAIN_POLLS) return;
        continue;
      }
      await this.pause(signal);
    }
  }

  private finish(jobId: string, status: StatusBody, sink: OutputSink, progress: Progress, events: JobEvents): JobOutcome {
    const reported = secondsFromMs(status.executionTime);
    const executionSeconds = reported ?? progress.elapsedSeconds();
    if (status.status !== 'CANCELLED' && (status.status === 'COMPLETED' || executionSeconds > 0)) progress.markRunning();
    events.log('system', `RunPod job ${jobId} ended ${String(status.status)} after ${executionSeconds.toFixed(1)} s of execution`);
    switch (status.status) {
      case 'COMPLETED':
        progress.addArtifacts(artifactsFromFinalOutput(status.output, sink));
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
    const cancel = await this.cancel(jobId);
    events.log('system', cancel.ok ? `RunPod job ${jobId} cancelled` : this.mask(`RunPod job ${jobId} could not be cancelled: ${cancel.reason}`));
    let executionSeconds = progress.elapsedSeconds();
    try {
      const stream = await this.once('stream', jobId);
      const items = Array.isArray((stream as { stream?: unknown } | null)?.stream) ? (stream as { stream: unknown[] }).stream : [];
      for (const item of items) {
        if (item && typeof item === 'object') interpretStreamOutput((item as { output?: unknown }).output, sink);
      }
      const status = (await this.once('status', jobId)) as StatusBody | null;
      executionSeconds = secondsFromMs(status?.executionTime) ?? executionSeconds;
    } catch {
      // Best effort: the cancellation is what matters.
    }
    return {
      status: 'ABORTED',
      exitCode: null,
      failureReason: cancel.ok ? null : this.mask(`RunPod did not confirm the cancellation of job ${jobId} (${cancel.reason}); it may still be running`),
      executionSeconds,
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
    if (tryCancel) {
      const cancel = await this.cancel(jobId);
      reason += cancel.ok ? '; the job was cancelled' : `; the job could not be cancelled (${cancel.reason}) and may still be running`;
    }
    this.operatorLog(reason);
    try {
      events.log('system', this.mask(reason));
    } catch {
      // the sink itself may be what failed
    }
    return { status: 'FAILED', exitCode: null, failureReason: this.mask(reason), executionSeconds: progress.elapsedSeconds(), artifacts: [] };
  }

  private async cancel(jobId: string): Promise<{ ok: true } | { ok: false; reason: string }> {
    try {
      const { body } = await this.http.request({
        method: 'POST',
        url: this.jobUrl('cancel', jobId),
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

  private async loadCatalog(): Promise<GpuType[]> {
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
      this.operatorLog(`RunPod GPU catalog unavailable (${messageOf(error)}); using the built-in price table (${prices} USD/h)`);
      const types = FALLBACK_GPU_TYPES.map((type) => ({ ...type }));
      this.catalog = { types, expiresAt: Date.now() + FALLBACK_TTL_MS };
      return types;
    }
  }

  private submitFailure(error: unknown, job: TrainingJob): string {
    if (error instanceof RunPodHttpError) {
      const detail = error.detail ? `: ${error.detail}` : '';
      switch (error.status) {
        case 401:
        case 403:
          return `RunPod refused the API key (HTTP ${error.status}${detail})`;
        case 402:
          return `RunPod refused the job: the account balance is insufficient (HTTP 402${detail})`;
        case 404:
          return `RunPod has no endpoint ${this.endpointId} (HTTP 404${detail})`;
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
        `input.runId ${job.runId} on endpoint ${this.endpointId} and cancel it if it is there`
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
      metric: (name, step, value) => events.metric(name, step, value),
      artifacts: (artifacts) => progress.addArtifacts(artifacts),
      problem: (message) => {
        this.operatorLog(`RunPod job ${progress.jobId}: ${message}`);
        events.log('system', this.mask(message));
      },
    };
  }

  private get(operation: 'status' | 'stream', jobId: string, signal: AbortSignal): Promise<RunPodResponse> {
    return this.http.request({
      method: 'GET',
      url: this.jobUrl(operation, jobId),
      label: `GET /${operation}/${jobId}`,
      mode: 'idempotent',
      maxRetries: this.maxRetries,
      timeoutMs: POLL_TIMEOUT_MS,
      signal,
    });
  }

  /** One quick attempt (after a cancel), no signal. */
  private async once(operation: 'status' | 'stream', jobId: string): Promise<unknown> {
    const { body } = await this.http.request({
      method: 'GET',
      url: this.jobUrl(operation, jobId),
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

  private jobUrl(operation: 'run' | 'status' | 'stream' | 'cancel', jobId?: string): string {
    const base = `${this.jobsBaseUrl}/${encodeURIComponent(this.endpointId)}/${operation}`;
    return jobId === undefined ? base : `${base}/${encodeURIComponent(jobId)}`;
  }

  private mask(text: string): string {
    return this.http.mask(text);
  }
}

/** What the provider knows of a job while following it. */
class Progress {
  private runningSince: number | null = null;
  private readonly produced = new Map<string, ProducedArtifact>();

  constructor(
    readonly jobId: string,
    private readonly events: JobEvents,
  ) {}

  /** First sign that the job executes: IN_PROGRESS, an output, or a final state after execution. */
  markRunning(): void {
    if (this.runningSince !== null) return;
    this.runningSince = Date.now();
    this.events.running();
    this.events.log('system', `RunPod job ${this.jobId} is running`);
  }

  /** Our own measure, used only when RunPod does not report `executionTime`. */
  elapsedSeconds(): number {
    return this.runningSince === null ? 0 : (Date.now() - this.runningSince) / 1000;
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
