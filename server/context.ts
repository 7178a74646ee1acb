import DataLoader from 'dataloader';
import type { Logger } from './logger';
import type { Principal } from './modules/identity/principal';
import type { IdentityService } from './modules/identity/identity.service';
import type { KeyValidator } from './modules/identity/key-validator';
import type { CatalogService } from './modules/catalog/catalog.service';
import type { DatasetsService } from './modules/datasets/datasets.service';
import type { DatasetFileEntity } from './modules/datasets/dataset-file.entity';
import type { TrainingService, MetricSummary } from './modules/training/training.service';
import type { TrainingLogHub } from './modules/training/log-hub';
import type { TrainingArtifactEntity } from './modules/training/training-artifact.entity';
import type { VendorEntity } from './modules/identity/vendor.entity';

/** Long-lived, shared by every request of a process. */
export interface Services {
  identity: IdentityService;
  catalog: CatalogService;
  datasets: DatasetsService;
  training: TrainingService;
  trainingLogs: TrainingLogHub;
  keys: KeyValidator;
  server: { version: string; database: 'EMBEDDED' | 'POSTGRES' };
}

/** Per-request batching, so a page of models costs one vendor query, not one per row. */
export interface Loaders {
  vendorById: DataLoader<string, VendorEntity | null>;
  filesByRound: DataLoader<number, DatasetFileEntity[]>;
  metricsByRun: DataLoader<string, MetricSummary[]>;
  artifactsByRun: DataLoader<string, TrainingArtifactEntity[]>;
}

export interface GraphQLContext {
  requestId: string;
  principal: Principal | null;
  /** Where this client reaches us (MP_PUBLIC_URL, else the request's Host), for links such as download URLs. */
  baseUrl: string;
  /** The Idempotency-Key header, for create-type mutations. */
  idempotencyKey?: string;
  services: Services;
  loaders: Loaders;
  log: Logger;
}

export function createLoaders(services: Pick<Services, 'datasets' | 'training' | 'identity'>): Loaders {
  return {
    metricsByRun: new DataLoader((ids: readonly string[]) => services.training.metricSummaries(ids)),
    artifactsByRun: new DataLoader((ids: readonly string[]) => services.training.artifactsOf(ids)),
    filesByRound: new DataLoader((numbers: readonly number[]) => services.datasets.filesOf(numbers)),
    vendorById: new DataLoader((ids: readonly string[]) => services.identity.vendorsByIds(ids)),
  };
}
