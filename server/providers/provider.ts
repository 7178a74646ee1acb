import type { ComputeProviderName, DatasetFileKind, ModelTask, TrainingRunStatus } from '../../generated/schema-types';
import type { GpuType as SchemaGpuType, Scalars } from '../../generated/server-types';

/**
 * What a compute provider does for a training run, whatever runs it (a child process
 * here, a RunPod serverless job there). The training worker claims a run, calls
 * `run()`, and owns everything around it: persistence, log masking, timeouts and
 * budgets (it aborts `signal` with a reason), and the final status.
 */
export type ProviderName = ComputeProviderName;

/**
 * A GpuType of the schema (our `id`, used in specs and `--gpu`: "A100", "RTX4090", "CPU";
 * `pricePerHourUsd` a decimal string, never a float) plus the provider's own id for it, e.g.
 * RunPod's "NVIDIA A100 80GB PCIe". The resolvers' model of GpuType (codegen.yml mappers).
 */
export type GpuType = Omit<SchemaGpuType, '__typename'> & { providerGpuId: string };

export interface TrainingFile {
  name: string; // train.csv
  kind: DatasetFileKind;
  sha256: string;
  sizeBytes: number;
  /** A signed download URL (valid for the run's timeout plus a margin). */
  url: string;
}

export interface TrainingJob {
  runId: string;
  task: ModelTask;
  roundNumber: number;
  files: TrainingFile[];
  hyperparameters: Record<string, Scalars['HyperparameterValue']['input']>;
  gpuType: GpuType;
  timeoutSeconds: number;
  /** Local provider: the template directory whose `npm start`/entry point trains. */
  templateDir: string;
  /** RunPod: the container image, when the spec names one. */
  image?: string;
  /** RunPod: where the job PUTs its artifacts (signed; one URL prefix, file name appended). */
  artifactUploadUrl?: string;
}

export interface ProducedArtifact {
  name: string;
  /** Where the worker finds the bytes: a local file to move into the blob store, or an already stored blob. */
  localPath?: string;
  blobKey?: string;
  sizeBytes: number;
  sha256: string;
}

export interface JobEvents {
  /** The provider's job id; awaited before anything else can fail, so a submitted job is never lost. */
  submitted(providerJobId: string): Promise<void>;
  /** The job is really running now (RUNNING). */
  running(): void;
  /**
   * The provider's own measure of how long the job has executed so far (RunPod's executionTime,
   * read when a job is followed again after a take-over): its cost accrues from then, not from now.
   */
  executed?(seconds: number): void;
  /** One line of output, as produced (the worker masks secrets and caps length before storing). */
  log(stream: 'stdout' | 'stderr' | 'system', line: string): void;
  /** A `{"mp":"metric","name":...,"step":...,"value":...}` line, already parsed. */
  metric(name: string, step: number, value: number): void;
}

/**
 * Why the worker stops a job. LEASE_LOST: another process took the run over, so this one lets go.
 * HANDOVER: this process shuts down and hands the run to another; a job that lives on without it
 * (RunPod) is let go, not stopped. Letting go never cancels the job.
 */
export type AbortReason = Extract<TrainingRunStatus, 'CANCELLED' | 'TIMED_OUT' | 'BUDGET_EXCEEDED'> | 'SHUTDOWN' | 'LEASE_LOST' | 'HANDOVER';

/** Whether a job stopped for this reason is left running at its provider, for another process to follow. */
export function letsGo(reason: unknown): boolean {
  return reason === ('LEASE_LOST' satisfies AbortReason) || reason === ('HANDOVER' satisfies AbortReason);
}

export interface JobOutcome {
  /** SUCCEEDED when the program finished with exit code 0; FAILED otherwise; the worker maps aborts. */
  status: Extract<TrainingRunStatus, 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT'> | 'ABORTED';
  exitCode: number | null;
  failureReason: string | null;
  /**
   * Seconds the job really executed (what it costs), as the provider knows them; null when it
   * does not (RunPod answered no executionTime): the worker then counts from when it saw the job run.
   */
  executionSeconds: number | null;
  /** Set when the job may have run (and billed) beyond what was seen: why its cost is not known. */
  costUnknown?: string;
  artifacts: ProducedArtifact[];
}

export interface ComputeProvider {
  readonly name: ProviderName;
  gpuTypes(): Promise<GpuType[]>;
  /**
   * Run the job to its end. When `signal` aborts (its reason is an AbortReason), stop the
   * job (SIGTERM then SIGKILL; RunPod /cancel) and resolve with status ABORTED.
   */
  run(job: TrainingJob, events: JobEvents, signal: AbortSignal): Promise<JobOutcome>;
  /** After a restart: is this provider job still alive? Resumes following it if so (RunPod); LOCAL jobs die with their process. */
  resume?(job: TrainingJob, providerJobId: string, events: JobEvents, signal: AbortSignal): Promise<JobOutcome>;
  /** After the worker has stored the artifacts: remove whatever the run left on this machine. */
  cleanup?(runId: string): Promise<void>;
}

/** A metric line printed by a training program. */
export function parseMetricLine(line: string): { name: string; step: number; value: number } | null {
  if (!line.startsWith('{') || !line.includes('"mp"')) return null;
  try {
    const parsed = JSON.parse(line) as { mp?: unknown; name?: unknown; step?: unknown; value?: unknown };
    if (parsed.mp !== 'metric' || typeof parsed.name !== 'string' || !/^[A-Za-z0-9_./-]{1,64}$/.test(parsed.name)) return null;
    if (typeof parsed.value !== 'number' || !Number.isFinite(parsed.value)) return null;
    const step = typeof parsed.step === 'number' && Number.isInteger(parsed.step) && parsed.step >= 0 ? parsed.step : 0;
    return { name: parsed.name, step, value: parsed.value };
  } catch {
    return null;
  }
}
