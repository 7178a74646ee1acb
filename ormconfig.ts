import type { DataSourceOptions, Logger } from 'typeorm';
import { VendorEntity } from './server/modules/identity/vendor.entity';
import { ApiKeyEntity } from './server/modules/identity/api-key.entity';
import { CatalogModelEntity } from './server/modules/catalog/catalog-model.entity';
import { DatasetRoundEntity } from './server/modules/datasets/dataset-round.entity';
import { DatasetFileEntity } from './server/modules/datasets/dataset-file.entity';
import { TrainingRunEntity } from './server/modules/training/training-run.entity';
import { TrainingArtifactEntity } from './server/modules/training/training-artifact.entity';
import { Identity1764090000000 } from './server/db/migrations/1764090000000-Identity';
import { Catalog1764090001000 } from './server/db/migrations/1764090001000-Catalog';
import { Datasets1764200000000 } from './server/db/migrations/1764200000000-Datasets';
import { Training1764300000000 } from './server/db/migrations/1764300000000-Training';

/**
 * The TypeORM data source settings shared by the embedded database (PGlite) and
 * PostgreSQL. Both run the same migrations; `synchronize` is never used.
 */
export const entities = [VendorEntity, ApiKeyEntity, CatalogModelEntity, DatasetRoundEntity, DatasetFileEntity, TrainingRunEntity, TrainingArtifactEntity];

/** In the order they run. A new migration is added at the end of this list. */
export const migrations = [Identity1764090000000, Catalog1764090001000, Datasets1764200000000, Training1764300000000];

export function dataSourceOptions(connection: { url?: string; poolSize?: number; driver?: unknown; logger?: Logger }): DataSourceOptions {
  return {
    type: 'postgres',
    url: connection.url,
    driver: connection.driver,
    poolSize: connection.poolSize,
    entities,
    migrations,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    installExtensions: false,
    logging: connection.logger ? ['query'] : false,
    logger: connection.logger,
    applicationName: 'trader-marketplace',
    connectTimeoutMS: 5000,
  };
}
