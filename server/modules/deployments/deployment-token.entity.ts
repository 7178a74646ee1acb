import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A deployment token's record: only its argon2id hash is kept; a deployment has one live token at a time. */
@Entity({ name: 'deployment_tokens' })
export class DeploymentTokenEntity {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ name: 'deployment_id', type: 'text' })
  deploymentId!: string;

  @Column({ name: 'vendor_id', type: 'text' })
  vendorId!: string;

  @Column({ type: 'text', unique: true })
  lookup!: string;

  @Column({ name: 'secret_hash', type: 'text' })
  secretHash!: string;

  @Column({ type: 'jsonb' })
  scopes!: string[];

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;
}
