import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Whether a run's recorded cost is all it cost, and why not or why over its budget (server/modules/training). */
export class TrainingCost1765000000000 implements MigrationInterface {
  name = 'TrainingCost1765000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE training_runs ADD COLUMN cost_status text NOT NULL DEFAULT 'MEASURED', ADD COLUMN cost_note text`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE training_runs DROP COLUMN cost_note, DROP COLUMN cost_status`);
  }
}
