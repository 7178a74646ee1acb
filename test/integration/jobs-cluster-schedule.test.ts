import 'reflect-metadata';
import assert from 'node:assert/strict';
import { openTestDatabase, usingPostgres } from '../helpers/server';
import { createLogger } from '../../server/logger';
import type { Database } from '../../server/db/database';
import { ClusterSchedule } from '../../server/jobs';

describe(`cluster-wide periodic tasks (${usingPostgres ? 'PostgreSQL' : 'embedded PGlite'})`, () => {
  let database: Database;
  let drop: () => Promise<void>;
  const log = createLogger('silent');

  before(async () => {
    ({ database, drop } = await openTestDatabase());
  });

  after(async () => {
    await database.close();
    await drop();
  });

  it('runs a due task on exactly one of several processes, and again only once its period has passed', async () => {
    let runs = 0;
    const processes = ['a', 'b', 'c'].map((name) => {
      const schedule = new ClusterSchedule(database.dataSource, log, `worker-${name}`);
      schedule.every('count', 60_000, async () => {
        runs += 1;
      });
      return schedule;
    });
    const first = await Promise.all(processes.map((schedule) => schedule.runDue()));
    assert.equal(runs, 1);
    assert.equal(first.flat().length, 1, 'one process says it ran the task');
    await Promise.all(processes.map((schedule) => schedule.runDue()));
    assert.equal(runs, 1, 'not due again within its period');

    await database.dataSource.query(`UPDATE periodic_tasks SET next_run_at = now() - interval '1 second' WHERE name = 'count'`);
    await Promise.all(processes.map((schedule) => schedule.runDue()));
    assert.equal(runs, 2);
    const [row]: { last_worker: string; due_in: string }[] = await database.dataSource.query(
      `SELECT last_worker, extract(epoch FROM next_run_at - now()) AS due_in FROM periodic_tasks WHERE name = 'count'`,
    );
    assert.match(row.last_worker, /^worker-[abc]$/);
    assert.ok(Number(row.due_in) > 50 && Number(row.due_in) <= 60, `next run in ${row.due_in} s`);
    await Promise.all(processes.map((schedule) => schedule.stop()));
  });

  it('keeps a failing task scheduled for its next period, and runs the other tasks meanwhile', async () => {
    const schedule = new ClusterSchedule(database.dataSource, log, 'worker-x');
    let other = 0;
    schedule.every('fails', 60_000, async () => {
      throw new Error('boom');
    });
    schedule.every('other', 60_000, async () => {
      other += 1;
    });
    assert.deepEqual(await schedule.runDue(), ['fails', 'other']);
    assert.equal(other, 1);
    assert.deepEqual(await schedule.runDue(), []);
    await schedule.stop();
  });

  it('refuses a task name registered twice', () => {
    const schedule = new ClusterSchedule(database.dataSource, log, 'worker-y');
    schedule.every('twice', 1000, async () => undefined);
    assert.throws(() => schedule.every('twice', 1000, async () => undefined), /registered twice/);
  });
});
