import type { Logger as TypeOrmLogger } from 'typeorm';

/**
 * TypeORM's logger hook, used only to count statements: tests use the count to prove
 * that lists load related rows in batches (no N+1). Logs nothing itself.
 */
export class QueryCounter implements TypeOrmLogger {
  count = 0;

  logQuery(): void {
    this.count += 1;
  }

  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}
