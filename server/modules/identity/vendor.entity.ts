import { Column, Entity, PrimaryColumn } from 'typeorm';
import { VendorStatus } from '../../../generated/schema-types';

export type { VendorStatus };

@Entity({ name: 'vendors' })
export class VendorEntity {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ type: 'text', unique: true })
  handle!: string;

  @Column({ name: 'display_name', type: 'text' })
  displayName!: string;

  @Column({ type: 'text' })
  email!: string;

  @Column({ type: 'text', default: VendorStatus.Active })
  status!: VendorStatus;

  @Column({ name: 'suspended_reason', type: 'text', nullable: true })
  suspendedReason!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}
