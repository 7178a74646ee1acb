import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ComputeProviderName, DeploymentHealth, DeploymentStatus, ModelSourceKind } from '../../../generated/schema-types';
import type { DeploymentEvent as SchemaDeploymentEvent, Heartbeat as SchemaHeartbeat } from '../../../generated/server-types';

/** A DeploymentEvent of the schema as stored in the row's jsonb `history`: `at` is an ISO string there. */
export type StoredDeploymentEvent = Omit<SchemaDeploymentEvent, '__typename' | 'at'> & { at: string };
/** The last Heartbeat as stored: `at` is an ISO string. */
export type StoredHeartbeat = Omit<SchemaHeartbeat, '__typename' | 'at'> & { at: string };

@Entity({ name: 'deployments' })
export class DeploymentEntity {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ name: 'vendor_id', type: 'text' })
  vendorId!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  template!: string;

  @Column({ type: 'text' })
  provider!: ComputeProviderName;

  @Column({ name: 'provider_ref', type: 'text', nullable: true })
  providerRef!: string | null;

  @Column({ name: 'endpoint_url', type: 'text', nullable: true })
  endpointUrl!: string | null;

  @Column({ name: 'training_run_id', type: 'text', nullable: true })
  trainingRunId!: string | null;

  @Column({ name: 'model_kind', type: 'text' })
  modelKind!: ModelSourceKind;

  @Column({ name: 'model_ref', type: 'text', nullable: true })
  modelRef!: string | null;

  @Column({ name: 'model_sha256', type: 'text', nullable: true })
  modelSha256!: string | null;

  @Column({ name: 'gpu_types', type: 'jsonb', default: () => "'[]'" })
  gpuTypes!: string[];

  @Column({ name: 'gpu_count', type: 'integer' })
  gpuCount!: number;

  @Column({ type: 'integer' })
  cpu!: number;

  @Column({ name: 'memory_gb', type: 'integer' })
  memoryGb!: number;

  @Column({ type: 'text', nullable: true })
  image!: string | null;

  @Column({ type: 'text' })
  status!: DeploymentStatus;

  @Column({ type: 'text' })
  health!: DeploymentHealth;

  @Column({ name: 'heartbeat_interval_seconds', type: 'integer' })
  heartbeatIntervalSeconds!: number;

  @Column({ name: 'last_heartbeat_at', type: 'timestamptz', nullable: true })
  lastHeartbeatAt!: Date | null;

  @Column({ name: 'last_heartbeat', type: 'jsonb', nullable: true })
  lastHeartbeat!: StoredHeartbeat | null;

  @Column({ name: 'signals_url', type: 'text', nullable: true })
  signalsUrl!: string | null;

  @Column({ name: 'rate_limit_per_minute', type: 'integer' })
  rateLimitPerMinute!: number;

  @Column({ name: 'token_prefix', type: 'text' })
  tokenPrefix!: string;

  @Column({ type: 'jsonb', default: () => "'[]'" })
  history!: StoredDeploymentEvent[];

  /** The process that runs a LOCAL deployment, and until when its claim holds (renewed while it lives). */
  @Column({ name: 'owner_worker', type: 'text', nullable: true })
  ownerWorker!: string | null;

  @Column({ name: 'lease_expires_at', type: 'timestamptz', nullable: true })
  leaseExpiresAt!: Date | null;

  /** When the deployment last became RUNNING or STARTING: the clock of missed heartbeats before the first one. */
  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}
