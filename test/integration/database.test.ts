import 'reflect-metadata';
import assert from 'node:assert/strict';
import { openTestDatabase, usingPostgres } from '../helpers/server';
import type { Database } from '../../server/db/database';

describe(`database (${usingPostgres ? 'PostgreSQL' : 'embedded PGlite'})`, () => {
  let database: Database;
  let drop: () => Promise<void>;

  before(async () => {
    ({ database, drop } = await openTestDatabase());
    await database.dataSource.query('CREATE TABLE scratch (id int PRIMARY KEY, note text NOT NULL)');
  });

  after(async () => {
    await database.close();
    await drop();
  });

  it('keeps exactly the committed rows when overlapping transactions commit and roll back', async () => {
    let releaseFirst!: () => void;
    const firstMayFinish = new Promise<void>((resolve) => (releaseFirst = resolve));
    let firstInserted!: () => void;
    const firstHasInserted = new Promise<void>((resolve) => (firstInserted = resolve));

    // The first transaction inserts and then waits; the second starts meanwhile, inserts and rolls back.
    const committing = database.dataSource.transaction(async (manager) => {
      await manager.query(`INSERT INTO scratch VALUES (1, 'committed')`);
      firstInserted();
      await firstMayFinish;
      await manager.query(`INSERT INTO scratch VALUES (2, 'committed too')`);
    });
    await firstHasInserted;
    const rollingBack = database.dataSource
      .transaction(async (manager) => {
        await manager.query(`INSERT INTO scratch VALUES (3, 'rolled back')`);
        throw new Error('roll me back');
      })
      .catch((error: Error) => error.message);
    releaseFirst();
    const [, rollbackOutcome] = await Promise.all([committing, rollingBack]);

    assert.equal(rollbackOutcome, 'roll me back');
    const rows = await database.dataSource.query('SELECT id, note FROM scratch ORDER BY id');
    assert.deepEqual(rows, [
      { id: 1, note: 'committed' },
      { id: 2, note: 'committed too' },
    ]);
  });

  it('keeps a committed transaction when a later one on the same connection pool fails midway', async () => {
    await database.dataSource.transaction(async (manager) => {
      await manager.query(`INSERT INTO scratch VALUES (10, 'kept')`);
    });
    await assert.rejects(
      database.dataSource.transaction(async (manager) => {
        await manager.query(`INSERT INTO scratch VALUES (11, 'lost')`);
        await manager.query(`INSERT INTO scratch VALUES (10, 'duplicate key')`);
      }),
      /duplicate key/,
    );
    const rows = await database.dataSource.query('SELECT id FROM scratch WHERE id >= 10 ORDER BY id');
    assert.deepEqual(rows, [{ id: 10 }]);
  });

  it('reports a failed query as an error and keeps serving queries afterwards', async () => {
    await assert.rejects(database.dataSource.query('SELEC 1'), (error: Error) => /syntax error/.test(error.message));
    await assert.rejects(database.dataSource.query('SELECT * FROM no_such_table'), /no_such_table/);
    await assert.rejects(database.dataSource.query('SELECT 1/0'), /division by zero/);
    const rows = await database.dataSource.query('SELECT 41 + 1 AS answer');
    assert.equal(Number(rows[0].answer), 42);
  });

  it('runs many concurrent transactions without losing or mixing rows', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        database.dataSource
          .transaction(async (manager) => {
            await manager.query('INSERT INTO scratch VALUES ($1, $2)', [100 + index, `row ${index}`]);
            if (index % 2 === 1) throw new Error('odd rows roll back');
          })
          .catch(() => undefined),
      ),
    );
    const rows: { id: number }[] = await database.dataSource.query('SELECT id FROM scratch WHERE id >= 100 ORDER BY id');
    assert.deepEqual(
      rows.map((row) => row.id),
      Array.from({ length: 10 }, (_, index) => 100 + index * 2),
    );
  });

  it('returns bigint counts as strings, as node-postgres does', async () => {
    const rows = await database.dataSource.query('SELECT count(*) AS n FROM scratch');
    assert.equal(typeof rows[0].n, 'string');
  });

  it('has no pending migrations after migrating', async () => {
    assert.deepEqual(await database.pendingMigrations(), []);
  });

  it('delivers a notification sent on commit and none for a rolled-back transaction', async () => {
    const received: string[] = [];
    const stop = await database.notifications.listen('mp_test_channel', (payload) => received.push(payload));
    await database.dataSource.transaction((manager) => database.notifications.notify(manager, 'mp_test_channel', 'kept'));
    await database.dataSource
      .transaction(async (manager) => {
        await database.notifications.notify(manager, 'mp_test_channel', 'dropped');
        throw new Error('rollback');
      })
      .catch(() => undefined);
    await database.notifications.notify(database.dataSource, 'mp_test_channel', 'after');
    for (let i = 0; i < 100 && received.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    await stop();
    assert.deepEqual(received, ['kept', 'after']);
  });

  it('refuses a notification payload over the Postgres limit', async () => {
    await assert.rejects(database.notifications.notify(database.dataSource, 'mp_test_channel', 'x'.repeat(9000)), /8000|7999/);
  });
});
