import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A browser sign-in: an API key exchanged once for a cookie whose token is kept only as its SHA-256. */
@Entity({ name: 'sessions' })
export class SessionEntity {
  /** `ses_<lookup>`: the lookup part is also the non-secret id inside the token. */
  @PrimaryColumn({ type: 'text' })
  id!: string;

  /** SHA-256 (hex) of the whole token: the token has 190 random bits, so a fast hash is enough. */
  @Column({ name: 'token_hash', type: 'text', unique: true })
  tokenHash!: string;

  @Column({ name: 'api_key_id', type: 'text' })
  apiKeyId!: string;

  @Column({ name: 'vendor_id', type: 'text', nullable: true })
  vendorId!: string | null;

  @Column({ name: 'user_agent', type: 'text', nullable: true })
  userAgent!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;
}

/** What the API shows of a session: the row, its key's name, and whether the request came with it. */
export interface SessionView {
  session: SessionEntity;
  apiKeyName: string;
  current: boolean;
}
