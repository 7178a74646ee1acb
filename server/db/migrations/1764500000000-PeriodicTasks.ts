import type { MigrationInterface, QueryRunner } from 'typeorm';

/** One row per cluster-wide periodic task (server/jobs/cluster-schedule.ts): when it is next due, and who ran it last. */
export class PeriodicTasks1764500000000 implements MigrationInterface {
  name = 'PeriodicTasks1764500000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE periodic_tasks (
        name text PRIMARY KEY,
        next_run_at timestamptz NOT NULL,
        last_started_at timestamptz NOT NULL,
        last_worker text NOT NULL
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE periodic_tasks`);
  }
}
