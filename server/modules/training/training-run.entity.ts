import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ModelTask } from '../catalog/catalog-model.entity';
import type { ProviderName } from '../../providers/provider';

export type TrainingRunStatus = 'QUEUED' | 'STARTING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT' | 'BUDGET_EXCEEDED';
export type HyperparameterValue = string | number | boolean;

export interface TrainingStatusChange {
  from: TrainingRunStatus | null;
  to: TrainingRunStatus;
  at: string;
  reason: string | null;
}

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

  @Column({ type: 'jsonb' })
  hyperparameters!: { name: string; value: HyperparameterValue }[];

  @Column({ name: 'gpu_type', type: 'text' })
  gpuType!: string;

  @Column({ type: 'text' })
  provider!: ProviderName;

  @Column({ name: 'timeout_seconds', type: 'integer' })
  timeoutSeconds!: number;

  /** USD, numeric(12,4) in the database, a decimal string here. */
  @Column({ name: 'max_budget_usd', type: 'numeric' })
  maxBudgetUsd!: string;

  @Column({ type: 'text' })
  status!: TrainingRunStatus;

  @Column({ name: 'provider_job_id', type: 'text', nullable: true })
  providerJobId!: string | null;

  @Column({ name: 'queued_at', type: 'timestamptz' })
  queuedAt!: Date;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;

  @Column({ name: 'exit_code', type: 'integer', nullable: true })
  exitCode!: number | null;

  @Column({ name: 'failure_reason', type: 'text', nullable: true })
  failureReason!: string | null;

  @Column({ name: 'cost_usd', type: 'numeric' })
  costUsd!: string;

  @Column({ name: 'log_line_count', type: 'integer' })
  logLineCount!: number;

  @Column({ type: 'jsonb' })
  history!: TrainingStatusChange[];

  @Column({ name: 'idempotency_key', type: 'text', nullable: true })
  idempotencyKey!: string | null;

  /** SHA-256 of the normalized spec: the same key with another spec is a CONFLICT. */
  @Column({ name: 'spec_hash', type: 'text' })
  specHash!: string;

  /** Which server process runs it, and until when its lease holds (it renews it while running). */
  @Column({ name: 'worker_id', type: 'text', nullable: true })
  workerId!: string | null;

  @Column({ name: 'lease_expires_at', type: 'timestamptz', nullable: true })
  leaseExpiresAt!: Date | null;
}
