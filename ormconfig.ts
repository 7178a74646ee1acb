import type { DataSourceOptions, Logger } from 'typeorm';
import { Identity1764090000000 } from './server/db/migrations/1764090000000-Identity';
import { Catalog1764090001000 } from './server/db/migrations/1764090001000-Catalog';
import { Datasets1764200000000 } from './server/db/migrations/1764200000000-Datasets';
import { Training1764300000000 } from './server/db/migrations/1764300000000-Training';
import { Idempotency1764400000000 } from './server/db/migrations/1764400000000-Idempotency';
import { PeriodicTasks1764500000000 } from './server/db/migrations/1764500000000-PeriodicTasks';
import { RateLimits1764600000000 } from './server/db/migrations/1764600000000-RateLimits';
import { Deployments1764700000000 } from './server/db/migrations/1764700000000-Deployments';
import { InfraClients1764800000000 } from './server/db/migrations/1764800000000-InfraClients';
import { TrainingCost1765000000000 } from './server/db/migrations/1765000000000-TrainingCost';
import { Signals1765200000000 } from './server/db/migrations/1765200000000-Signals';
import { ModelRegistration1765300000000 } from './server/db/migrations/1765300000000-ModelRegistration';
import { Scoring1765400000000 } from './server/db/migrations/1765400000000-Scoring';
import { SignalUploads1765500000000 } from './server/db/migrations/1765500000000-SignalUploads';
import { Sessions1765600000000 } from './server/db/migrations/1765600000000-Sessions';

/** In the order they run. A new migration is added at the end of this list. */
export const migrations = [
  Identity1764090000000,
  Catalog1764090001000,
  Datasets1764200000000,
  Training1764300000000,
  Idempotency1764400000000,
  PeriodicTasks1764500000000,
  RateLimits1764600000000,
  Deployments1764700000000,
  InfraClients1764800000000,
  TrainingCost1765000000000,
  Signals1765200000000,
  ModelRegistration1765300000000,
  Scoring1765400000000,
  SignalUploads1765500000000,
  Sessions1765600000000,
];

/**
 * The TypeORM data source settings shared by the embedded database (PGlite) and
 * PostgreSQL. Both run the same migrations; `synchronize` is never used. The entities
 * come from the modules (`server/modules`), so the data source knows no domain.
 */
export function dataSourceOptions(connection: {
  url?: string;
  poolSize?: number;
  driver?: unknown;
  logger?: Logger;
  entities: readonly (new () => object)[];
}): DataSourceOptions {
  return {
    type: 'postgres',
    url: connection.url,
    driver: connection.driver,
    poolSize: connection.poolSize,
    entities: [...connection.entities],
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
