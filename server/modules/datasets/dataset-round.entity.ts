import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { DatasetFileKind, DatasetRoundStatus } from '../../../generated/schema-types';
import type { DatasetSplit as SchemaDatasetSplit } from '../../../generated/server-types';

export type { DatasetFileKind, DatasetRoundStatus };

/** A DatasetSplit of the schema, as stored in the round's jsonb `splits`. */
export type DatasetSplit = Omit<SchemaDatasetSplit, '__typename'>;

/** One recorded status change: when, from what, and who asked. */
export interface StatusChange {
  from: DatasetRoundStatus | null;
  to: DatasetRoundStatus;
  at: string;
  by: string;
}

@Entity({ name: 'dataset_rounds' })
export class DatasetRoundEntity {
  @PrimaryColumn({ type: 'integer' })
  number!: number;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  status!: DatasetRoundStatus;

  @Column({ type: 'text', default: '' })
  description!: string;

  @Column({ name: 'opens_at', type: 'timestamptz', nullable: true })
  opensAt!: Date | null;

  @Column({ name: 'closes_at', type: 'timestamptz', nullable: true })
  closesAt!: Date | null;

  @Column({ name: 'resolves_at', type: 'timestamptz', nullable: true })
  resolvesAt!: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ type: 'text', array: true })
  symbols!: string[];

  @Column({ name: 'horizon_days', type: 'integer' })
  horizonDays!: number;

  @Column({ name: 'feature_names', type: 'text', array: true })
  featureNames!: string[];

  @Column({ type: 'jsonb' })
  splits!: DatasetSplit[];

  /** Forward-return cut points (4 of them) that bucket the target into 0, 0.25, 0.5, 0.75, 1. */
  @Column({ name: 'target_thresholds', type: 'jsonb' })
  targetThresholds!: number[];

  @Column({ name: 'status_history', type: 'jsonb', default: () => "'[]'" })
  statusHistory!: StatusChange[];
}
