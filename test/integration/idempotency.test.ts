import 'reflect-metadata';
import assert from 'node:assert/strict';
import type { EntityManager } from 'typeorm';
import { openTestDatabase, usingPostgres } from '../helpers/server';
import type { Database } from '../../server/db/database';
import { DomainError } from '../../server/domain-error';
import { createOnce, normalizeIdempotencyKey, purgeExpiredIdempotencyRecords, type IdempotentRequest } from '../../server/idempotency';

describe(`idempotency records (${usingPostgres ? 'PostgreSQL' : 'embedded PGlite'})`, () => {
  let database: Database;
  let drop: () => Promise<void>;
  let made = 0;

  before(async () => {
    ({ database, drop } = await openTestDatabase());
    await database.dataSource.query('CREATE TABLE made (id text PRIMARY KEY, input text NOT NULL)');
  });

  after(async () => {
    await database.close();
    await drop();
  });

  const request = (key: string | null, input: string, scope = 'ven_a'): IdempotentRequest => ({
    scope,
    operation: 'makeThing',
    key,
    requestHash: input,
    describe: (id) => `thing ${id}`,
  });
  const make = (input: string) => async (manager: EntityManager) => {
    const id = `thing_${++made}`;
    await manager.query('INSERT INTO made (id, input) VALUES ($1, $2)', [id, input]);
    return id;
  };
  const count = async () => Number((await database.dataSource.query('SELECT count(*) AS n FROM made'))[0].n);

  it('gives the first result again for the same key and input, creating once', async () => {
    const before = await count();
    const first = await createOnce(database.dataSource, request('k-same', 'a'), make('a'));
    const second = await createOnce(database.dataSource, request('k-same', 'a'), make('a'));
    assert.deepEqual([first.replayed, second.replayed], [false, true]);
    assert.equal(second.id, first.id);
    assert.equal(await count(), before + 1);
  });

  it('refuses the same key with other input as CONFLICT, naming the first result, and creates nothing', async () => {
    const first = await createOnce(database.dataSource, request('k-other', 'a'), make('a'));
    const before = await count();
    await assert.rejects(createOnce(database.dataSource, request('k-other', 'b'), make('b')), (error: unknown) => {
      assert.ok(error instanceof DomainError);
      assert.equal(error.code, 'CONFLICT');
      assert.match(error.message, new RegExp(`k-other was already used for thing ${first.id}`));
      return true;
    });
    assert.equal(await count(), before);
  });

  it('creates exactly once for 12 concurrent requests with one key, and all get that result', async () => {
    const before = await count();
    const results = await Promise.all(Array.from({ length: 12 }, () => createOnce(database.dataSource, request('k-race', 'a'), make('a'))));
    assert.equal(new Set(results.map((result) => result.id)).size, 1);
    assert.equal(results.filter((result) => !result.replayed).length, 1);
    assert.equal(await count(), before + 1);
  });

  it('keeps no claim when the creation fails, so a retry with the key runs again', async () => {
    const failing = async () => {
      throw new Error('creation failed');
    };
    await assert.rejects(createOnce(database.dataSource, request('k-fail', 'a'), failing), /creation failed/);
    const retried = await createOnce(database.dataSource, request('k-fail', 'a'), make('a'));
    assert.equal(retried.replayed, false);
  });

  it('scopes keys to the caller and creates every time without a key', async () => {
    const mine = await createOnce(database.dataSource, request('k-scope', 'a', 'ven_a'), make('a'));
    const theirs = await createOnce(database.dataSource, request('k-scope', 'b', 'ven_b'), make('b'));
    assert.notEqual(mine.id, theirs.id);
    const before = await count();
    await createOnce(database.dataSource, request(null, 'a'), make('a'));
    await createOnce(database.dataSource, request(null, 'a'), make('a'));
    assert.equal(await count(), before + 2);
  });

  it('lets an expired key be used anew, and purges only expired records', async () => {
    const first = await createOnce(database.dataSource, request('k-expired', 'a'), make('a'));
    await createOnce(database.dataSource, request('k-kept', 'a'), make('a'));
    await database.dataSource.query(`UPDATE idempotency_records SET expires_at = now() - interval '1 second' WHERE key = 'k-expired'`);
    const again = await createOnce(database.dataSource, request('k-expired', 'b'), make('b'));
    assert.equal(again.replayed, false);
    assert.notEqual(again.id, first.id);
    await database.dataSource.query(`UPDATE idempotency_records SET expires_at = now() - interval '1 second' WHERE key = 'k-expired'`);
    assert.equal(await purgeExpiredIdempotencyRecords(database.dataSource), 1);
    const left: { key: string }[] = await database.dataSource.query(`SELECT key FROM idempotency_records WHERE key IN ('k-expired', 'k-kept')`);
    assert.deepEqual(
      left.map((row) => row.key),
      ['k-kept'],
    );
  });

  it('remembers a key for at least 24 hours', async () => {
    await createOnce(database.dataSource, request('k-ttl', 'a'), make('a'));
    const [row]: { hours: string }[] = await database.dataSource.query(
      `SELECT extract(epoch FROM expires_at - created_at) / 3600 AS hours FROM idempotency_records WHERE key = 'k-ttl'`,
    );
    assert.ok(Number(row.hours) >= 24, `kept ${row.hours} hours`);
  });

  it('normalizes keys: trimmed, empty means none, and refuses long or invisible ones naming the field', () => {
    assert.equal(normalizeIdempotencyKey('  nightly-42 '), 'nightly-42');
    assert.equal(normalizeIdempotencyKey('   '), null);
    assert.equal(normalizeIdempotencyKey(undefined), null);
    for (const bad of ['x'.repeat(201), 'with space', 'tab\there', 'é']) {
      assert.throws(
        () => normalizeIdempotencyKey(bad),
        (error: unknown) => error instanceof DomainError && error.details.fields?.[0].field === 'idempotencyKey',
      );
    }
  });
});
