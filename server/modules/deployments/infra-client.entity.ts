import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A system of the trading infrastructure allowed to introspect deployment tokens; only its secret's argon2id hash is kept. */
@Entity({ name: 'infra_clients' })
export class InfraClientEntity {
  /** `icl_<lookup>`: the client_id of HTTP Basic authentication. */
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text', unique: true })
  lookup!: string;

  @Column({ name: 'secret_hash', type: 'text' })
  secretHash!: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;
}
