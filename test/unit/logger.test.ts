import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { QueryFailedError } from 'typeorm';
import { loadConfig } from '../../server/config';
import { secretsInConfig } from '../../server/configured-secrets';
import { createLogger, registerSecret } from '../../server/logger';
import { TokenFormat } from '../../server/tokens';

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

  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('masks a registered signing secret in the message, in fields, in child bindings and in errors, even in a logger made before', async () => {
    const { log, lines } = capture();
    const signingSecret = randomBytes(32).toString('base64url');
    registerSecret(signingSecret);
    log.info(`secret is ${signingSecret}.`);
    log.child({ bound: `x${signingSecret}` }).warn({ detail: { nested: `key=${signingSecret}&a=1` } }, 'bound');
    log.error({ err: new Error(`bad ${signingSecret}`) }, 'failed');
    await settle();
    const text = lines.join('');
    assert.equal(lines.length, 3);
    assert.ok(!text.includes(signingSecret), text);
    assert.match(text, /secret is \[REDACTED\]\./);
    assert.match(text, /key=\[REDACTED\]&a=1/);
  });

  it('masks the DATABASE_URL password from the configuration, as written in the URL and decoded', async () => {
    const { log, lines } = capture();
    const password = `pw-${randomBytes(6).toString('hex')}@/!`;
    const url = `postgres://mp:${encodeURIComponent(password)}@db.example:5432/mp`;
    for (const secret of secretsInConfig(loadConfig({ DATABASE_URL: url }))) registerSecret(secret);
    log.warn({ url }, `cannot reach ${url}`);
    log.warn(`the password was ${password}`);
    log.warn({ quoted: `"${password}"` }, 'in a JSON string');
    await settle();
    const text = lines.join('');
    assert.ok(!text.includes(encodeURIComponent(password)), text);
    assert.ok(!text.includes(password), text);
    assert.ok(!text.includes(JSON.stringify(password).slice(1, -1)), text);
    assert.match(text, /postgres:\/\/mp:\[REDACTED\]@db\.example:5432\/mp/);
  });

  it('masks a key next to word characters, in the message and in any field, keeping its lookup id', async () => {
    const { log, lines } = capture();
    const { token, lookup } = new TokenFormat('vk', 'API key', 'key').generate();
    const secretPart = token.slice(`vk_${lookup}_`.length);
    log.info(`Xvk${token.slice(2)}_old and 1${token}`);
    log.info({ request: { query: `?auth=Bearer%20${token}`, note: `apikey_${token}abc` }, line: `\n${token}` }, 'fields');
    await settle();
    const text = lines.join('');
    assert.ok(!text.includes(secretPart), text);
    assert.match(text, new RegExp(`Xvk_${lookup}_\\[REDACTED\\]_old and 1vk_${lookup}_\\[REDACTED\\]`));
    assert.match(text, /Bearer%20\[REDACTED\]/);
  });
});
