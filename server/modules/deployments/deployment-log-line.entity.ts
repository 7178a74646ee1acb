import { Column, Entity, PrimaryColumn } from 'typeorm';

/** An output line of a deployment (LOCAL: its process's stdout and stderr), masked; the newest 1,000 are kept. */
@Entity({ name: 'deployment_log_lines' })
export class DeploymentLogLineEntity {
  @PrimaryColumn({ name: 'deployment_id', type: 'text' })
  deploymentId!: string;

  @PrimaryColumn({ type: 'integer' })
  seq!: number;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  at!: Date;

  @Column({ type: 'text' })
  stream!: string;

  @Column({ type: 'text' })
  line!: string;
}
