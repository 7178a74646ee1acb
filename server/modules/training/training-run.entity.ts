import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ComputeProviderName, ModelTask, TrainingCostStatus, TrainingRunStatus } from '../../../generated/schema-types';
import type { Hyperparameter, Scalars, TrainingStatusChange as SchemaTrainingStatusChange } from '../../../generated/server-types';

export type { TrainingRunStatus };
/** What the HyperparameterValue scalar holds (codegen.yml maps it). */
export type HyperparameterValue = Scalars['HyperparameterValue']['output'];

/** A TrainingStatusChange of the schema as stored in the run's jsonb `history`: `at` is an ISO string there. */
export type TrainingStatusChange = Omit<SchemaTrainingStatusChange, '__typename' | 'at'> & { at: string };

@Entity({ name: 'training_runs' })
export class TrainingRunEntity {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ name: 'vendor_id', type: 'text' })
  vendorId!: string;

  @Column({ type: 'text' })
  task!: ModelTask;

  @Column({ name: 'round_number', type: 'integer' })
  roundNumber!: number;

  @Column({ type: 'text', nullable: true })
  template!: string | null;

  @Column({ type: 'text', nullable: true })
  image!: string | null;

  @Column({ type: 'jsonb', default: () => "'[]'" })
  hyperparameters!: Omit<Hyperparameter, '__typename'>[];

  @Column({ name: 'gpu_type', type: 'text' })
  gpuType!: string;

  @Column({ type: 'text' })
  provider!: ComputeProviderName;

  @Column({ name: 'timeout_seconds', type: 'integer' })
  timeoutSeconds!: number;

  /** USD, numeric(12,4) in the database, a decimal string here. */
  @Column({ name: 'max_budget_usd', type: 'numeric', precision: 12, scale: 4 })
  maxBudgetUsd!: string;

  @Column({ type: 'text' })
  status!: TrainingRunStatus;

  @Column({ name: 'provider_job_id', type: 'text', nullable: true })
  providerJobId!: string | null;

  @Column({ name: 'queued_at', type: 'timestamptz', default: () => 'now()' })
  queuedAt!: Date;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;

  @Column({ name: 'exit_code', type: 'integer', nullable: true })
  exitCode!: number | null;

  @Column({ name: 'failure_reason', type: 'text', nullable: true })
  failureReason!: string | null;

  @Column({ name: 'cost_usd', type: 'numeric', precision: 12, scale: 4, default: 0 })
  costUsd!: string;

  @Column({ name: 'cost_status', type: 'text', default: 'MEASURED' })
  costStatus!: TrainingCostStatus;

  /** Why the cost is unknown, or how it went over the budget. */
  @Column({ name: 'cost_note', type: 'text', nullable: true })
  costNote!: string | null;

  @Column({ name: 'log_line_count', type: 'integer', default: 0 })
  logLineCount!: number;

  @Column({ type: 'jsonb', default: () => "'[]'" })
  history!: TrainingStatusChange[];

  /** SHA-256 of the normalized spec (what an idempotency key's request hash is). */
  @Column({ name: 'spec_hash', type: 'text' })
  specHash!: string;

  /** Which server process runs it, and until when its lease holds (it renews it while running). */
  @Column({ name: 'worker_id', type: 'text', nullable: true })
  workerId!: string | null;

  @Column({ name: 'lease_expires_at', type: 'timestamptz', nullable: true })
  leaseExpiresAt!: Date | null;
}
