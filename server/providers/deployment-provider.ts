import type { ComputeProviderName, DeploymentStatus } from '../../generated/schema-types';

/**
 * What a provider does for an inference deployment, whatever runs it (a child process here, a
 * RunPod pod there). The deployments module owns the lifecycle (server/modules/deployments):
 * it calls `provision` once, `inspect` while it follows the deployment, `updateEnvironment` when
 * the vendor links it elsewhere, and `terminate` on stop or failure. Health comes from the
 * deployment's own heartbeats, not from here.
 */
export interface DeploymentSpec {
  deploymentId: string;
  /** A name unique to this deployment (`mp-<deployment id>`): a RunPod pod is found by it after an unclear create. */
  name: string;
  /** LOCAL: the serving template's directory, run as a child process. */
  templateDir: string;
  /** RunPod: the container image. */
  image?: string;
  /** RunPod: GPU ids of our catalog to try in order (`RTX4090`, `A100`); empty for CPU. */
  gpuTypes: string[];
  gpuCount: number;
  cpu: number;
  memoryGb: number;
  /**
   * The deployment's whole environment: MP_DEPLOYMENT_TOKEN, MP_API_URL, MP_HEARTBEAT_SECONDS,
   * MP_SIGNALS_URL, MP_MODEL_URL / MP_MODEL_PATH, MP_MODEL_SHA256, PORT. Secrets in it are
   * masked wherever the provider logs.
   */
  env: Record<string, string>;
}

export interface ProvisionedDeployment {
  /** A pod id on RunPod; `local-<pid>` locally. */
  providerRef: string;
  /** Where the endpoint answers, when already known (a pod gets its public port later). */
  endpointUrl: string | null;
}

/** What the provider says of a deployment now. */
export interface ProviderView {
  /** The provider's state in our terms: PROVISIONING, STARTING, RUNNING, STOPPED or FAILED. */
  status: Extract<DeploymentStatus, 'PROVISIONING' | 'STARTING' | 'RUNNING' | 'STOPPED' | 'FAILED'>;
  endpointUrl: string | null;
  /** Why, for STOPPED and FAILED (a process's exit code, a pod's ERROR). */
  reason?: string;
}

export interface DeploymentEvents {
  /** The provider's id, recorded before anything else can fail so a created pod is never lost. */
  provisioned(providerRef: string): Promise<void>;
  /** An output line of the endpoint (LOCAL: its stdout and stderr). */
  log(stream: 'stdout' | 'stderr' | 'system', line: string): void;
  /** The endpoint ended on its own (a process exited, a pod went to ERROR or EXITED). */
  ended(view: ProviderView): void;
}

export interface DeploymentProvider {
  readonly name: ComputeProviderName;
  /**
   * Start the deployment; resolves once the provider has accepted it. Failures the vendor can
   * act on (no capacity for any GPU asked, insufficient balance, a bad image) reject with a
   * DomainError whose message says what to do.
   */
  provision(spec: DeploymentSpec, events: DeploymentEvents): Promise<ProvisionedDeployment>;
  inspect(providerRef: string): Promise<ProviderView>;
  /** Deliver a changed environment (a new token, a signals URL): live where the provider can, else by a restart. */
  updateEnvironment(providerRef: string, env: Record<string, string>): Promise<void>;
  /** Stop it for good and release what it holds (terminate a pod: it stops billing). Idempotent. */
  terminate(providerRef: string): Promise<void>;
}
