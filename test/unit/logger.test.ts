import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { QueryFailedError } from 'typeorm';
import { createLogger } from '../../server/logger';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { log: createLogger('info', stream), lines };
}

describe('server log', () => {
  it("keeps a failed query's SQL and error code but never its parameters or the driver's quoted values", async () => {
    const { log, lines } = capture();
    const hash = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo';
    const driverError = Object.assign(new Error('duplicate key value violates unique constraint "api_keys_lookup_key"'), {
      code: '23505',
      constraint: 'api_keys_lookup_key',
      detail: `Key (secret_hash)=(${hash}) already exists.`,
    });
    log.error(
      { err: new QueryFailedError('INSERT INTO api_keys (lookup, secret_hash) VALUES ($1, $2)', ['AbCdEf123456', hash], driverError) },
      'insert failed',
    );
    await new Promise((resolve) => setImmediate(resolve));
    const text = lines.join('');
    assert.ok(!text.includes(hash), text);
    assert.ok(!text.includes('AbCdEf123456'), 'a parameter reached the log');
    assert.match(text, /INSERT INTO api_keys/);
    assert.match(text, /23505/);
    assert.match(text, /api_keys_lookup_key/);
  });

  it('masks a vendor key in an error message and its stack', async () => {
    const { log, lines } = capture();
    const key = 'vk_AbCdEf123456_0123456789abcdefghijABCDEFGHIJ012345xyzXYZ';
    log.error({ err: new Error(`could not use ${key}`) }, 'failed');
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(!lines.join('').includes(key));
  });
});
