import { Column, Entity, PrimaryColumn } from 'typeorm';
import { CatalogModelStatus, type ModelTask } from '../../../generated/schema-types';

export type { CatalogModelStatus, ModelTask };

@Entity({ name: 'catalog_models' })
export class CatalogModelEntity {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ name: 'vendor_id', type: 'text' })
  vendorId!: string;

  @Column({ type: 'text' })
  name!: string;

  /** `<vendor handle>/<model>`, unique. */
  @Column({ type: 'text', unique: true })
  slug!: string;

  @Column({ type: 'text', default: '' })
  description!: string;

  @Column({ type: 'text' })
  task!: ModelTask;

  @Column({ type: 'text', default: CatalogModelStatus.Draft })
  status!: CatalogModelStatus;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  tags!: string[];

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'published_at', type: 'timestamptz', nullable: true })
  publishedAt!: Date | null;

  /** The deployment it was registered with (`mp register`). */
  @Column({ name: 'deployment_id', type: 'text', nullable: true })
  deploymentId!: string | null;

  @Column({ name: 'training_run_id', type: 'text', nullable: true })
  trainingRunId!: string | null;
}
