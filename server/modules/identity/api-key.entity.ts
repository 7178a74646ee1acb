import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { Role } from './principal';

@Entity({ name: 'api_keys' })
export class ApiKeyEntity {
  /** `key_<lookup>`: the lookup part is also the non-secret id inside the token. */
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ type: 'text', unique: true })
  lookup!: string;

  @Column({ name: 'vendor_id', type: 'text', nullable: true })
  vendorId!: string | null;

  @Column({ type: 'text' })
  role!: Role;

  @Column({ type: 'text' })
  name!: string;

  /** argon2id hash of the whole token; the token itself is never stored. */
  @Column({ name: 'secret_hash', type: 'text' })
  secretHash!: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;
}
