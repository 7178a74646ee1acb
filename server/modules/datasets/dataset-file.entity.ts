import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { DatasetFileKind } from './dataset-round.entity';

const bigintAsNumber = { to: (value: number) => value, from: (value: string | number) => Number(value) };

@Entity({ name: 'dataset_files' })
export class DatasetFileEntity {
  @PrimaryColumn({ name: 'round_number', type: 'integer' })
  roundNumber!: number;

  @PrimaryColumn({ type: 'text' })
  kind!: DatasetFileKind;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text', default: 'csv' })
  format!: string;

  @Column({ name: 'size_bytes', type: 'bigint', transformer: bigintAsNumber })
  sizeBytes!: number;

  @Column({ type: 'text' })
  sha256!: string;

  @Column({ name: 'row_count', type: 'integer' })
  rowCount!: number;

  @Column({ type: 'text', array: true })
  columns!: string[];

  /** Where the bytes are in the blob store. */
  @Column({ name: 'blob_key', type: 'text' })
  blobKey!: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}
