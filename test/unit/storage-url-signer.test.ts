import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadSigningSecret, UrlSigner } from '../../server/storage/url-signer';

const SECRET = Buffer.from('a-test-secret-that-is-long-enough-for-hmac');
const NOW = new Date('2026-11-25T17:00:00.000Z');
const LATER = new Date('2026-11-25T18:00:00.000Z');
const PATH = '/files/rounds/1/train.csv';

function params(query: string): URLSearchParams {
  return new URLSearchParams(query);
}

describe('UrlSigner', function () {
  const signer = new UrlSigner(SECRET);

  it('signs a path into expires and a base64url signature that verify accepts until the expiry', function () {
    const query = signer.sign(PATH, LATER);
    assert.match(query, /^expires=\d+&signature=[A-Za-z0-9_-]{43}$/);
    assert.equal(params(query).get('expires'), String(LATER.getTime() / 1000));
    assert.deepEqual(signer.verify(PATH, params(query), NOW), { ok: true });
    assert.deepEqual(signer.verify(PATH, params(query), new Date(LATER.getTime() - 1000)), { ok: true });
  });

  it('refuses an expired URL, saying when it expired and what to do', function () {
    const query = signer.sign(PATH, LATER);
    assert.deepEqual(signer.verify(PATH, params(query), LATER), {
      ok: false,
      reason: 'expired at 2026-11-25T18:00:00.000Z: ask for a new download URL',
    });
  });

  it('refuses the signature on any other path, even one character away', function () {
    const query = signer.sign(PATH, LATER);
    for (const other of ['/files/rounds/1/live.csv', '/files/rounds/1/train.csv/', '/files/rounds/1/../1/train.csv', '/files/rounds/11/train.csv']) {
      assert.deepEqual(
        signer.verify(other, params(query), NOW),
        { ok: false, reason: 'invalid signature: the URL was changed or is not from this server' },
        other,
      );
    }
  });

  it('refuses a changed expiry or a changed signature', function () {
    const query = params(signer.sign(PATH, NOW));
    const extended = new URLSearchParams(query);
    extended.set('expires', String(Number(query.get('expires')) + 3600));
    assert.equal(signer.verify(PATH, extended, new Date(NOW.getTime() - 1000)).ok, false);
    assert.match((signer.verify(PATH, extended, NOW) as { reason: string }).reason, /^invalid signature/);

    const signature = query.get('signature')!;
    const flipped = signature.slice(0, -1) + (signature.endsWith('A') ? 'B' : 'A');
    for (const forged of [flipped, `${signature}=`, signature.slice(0, -1), `${signature}AAAA`, 'x', signature.replace(/-/g, '+')]) {
      if (forged === signature) continue;
      const tampered = new URLSearchParams(query);
      tampered.set('signature', forged);
      assert.match((signer.verify(PATH, tampered, new Date(NOW.getTime() - 1000)) as { reason: string }).reason, /^invalid signature/, forged);
    }
  });

  it('refuses a URL signed with another secret', function () {
    const other = new UrlSigner(Buffer.from('another-secret-that-is-also-long-enough!!'));
    const result = signer.verify(PATH, params(other.sign(PATH, LATER)), NOW);
    assert.deepEqual(result, { ok: false, reason: 'invalid signature: the URL was changed or is not from this server' });
  });

  it('says the signature is missing, or the expiry malformed', function () {
    assert.deepEqual(signer.verify(PATH, params(''), NOW), { ok: false, reason: 'signature missing' });
    assert.deepEqual(signer.verify(PATH, params('expires=1999999999'), NOW), { ok: false, reason: 'signature missing' });
    assert.deepEqual(signer.verify(PATH, params('expires=1999999999&signature='), NOW), { ok: false, reason: 'signature missing' });
    const signature = params(signer.sign(PATH, LATER)).get('signature')!;
    for (const expires of [null, '', 'soon', '-1', '1.5', '1e9', '99999999999999999999']) {
      const query = new URLSearchParams({ signature });
      if (expires !== null) query.set('expires', expires);
      assert.deepEqual(signer.verify(PATH, query, NOW), { ok: false, reason: 'malformed expires' }, String(expires));
    }
  });

  it('builds a full URL whose percent-encoded path decodes back to the signed one', function () {
    const path = '/files/rounds/1/train 2020 #1.csv';
    const url = new URL(signer.signedUrl('https://mp.example.com/', path, LATER));
    assert.equal(url.origin, 'https://mp.example.com');
    assert.equal(decodeURIComponent(url.pathname), path);
    assert.deepEqual(signer.verify(decodeURIComponent(url.pathname), url.searchParams, NOW), { ok: true });
  });

  it('refuses a secret shorter than 32 bytes', function () {
    assert.throws(() => new UrlSigner(Buffer.from('short')), /at least 32 bytes/);
  });
});

describe('loadSigningSecret', function () {
  let dataDir: string;

  beforeEach(async function () {
    dataDir = await mkdtemp(join(tmpdir(), 'mp-secret-'));
  });

  afterEach(async function () {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('uses MP_SIGNING_SECRET when it is set, and writes nothing', async function () {
    const secret = 'x'.repeat(32);
    assert.deepEqual(await loadSigningSecret({ secret, dataDir }), Buffer.from(secret));
    await assert.rejects(stat(join(dataDir, 'signing-secret')), { code: 'ENOENT' });
  });

  it('refuses an MP_SIGNING_SECRET shorter than 32 characters, saying so', async function () {
    await assert.rejects(loadSigningSecret({ secret: 'x'.repeat(31), dataDir }), /MP_SIGNING_SECRET must be at least 32 characters \(it has 31\)/);
  });

  it('generates a secret once in the data directory, private to its owner, and reuses it', async function () {
    const first = await loadSigningSecret({ dataDir: join(dataDir, 'nested') });
    const file = join(dataDir, 'nested', 'signing-secret');
    assert.ok(first.length >= 32);
    assert.equal((await readFile(file, 'utf8')).trim(), first.toString());
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.deepEqual(await loadSigningSecret({ dataDir: join(dataDir, 'nested') }), first);
    // The same text in MP_SIGNING_SECRET signs the same way, so it can be moved to the environment.
    assert.deepEqual(await loadSigningSecret({ secret: first.toString(), dataDir }), first);
  });

  it('gives every caller starting at once the same secret, and leaves no temporary files', async function () {
    const secrets = await Promise.all(Array.from({ length: 20 }, () => loadSigningSecret({ dataDir })));
    for (const secret of secrets) assert.deepEqual(secret, secrets[0]);
    assert.deepEqual(await readdir(dataDir), ['signing-secret']);
  });

  it('gives processes that start together on one data directory the same secret', async function () {
    this.timeout(60_000);
    const script =
      "require('./server/storage/url-signer').loadSigningSecret({ dataDir: process.argv[1] })" + '.then((s) => process.stdout.write(s.toString()))';
    const runs = Array.from({ length: 4 }, () =>
      promisify(execFile)(process.execPath, ['-r', 'tsx/cjs', '-e', script, dataDir], { cwd: join(__dirname, '..', '..') }),
    );
    const outputs = (await Promise.all(runs)).map((run) => run.stdout);
    assert.ok(outputs[0].length >= 32);
    for (const output of outputs) assert.equal(output, outputs[0]);
    assert.equal((await readFile(join(dataDir, 'signing-secret'), 'utf8')).trim(), outputs[0]);
  });

  it('refuses a kept secret that is too short, explaining the way out', async function () {
    await writeFile(join(dataDir, 'signing-secret'), 'too short\n', { mode: 0o600 });
    await assert.rejects(loadSigningSecret({ dataDir }), /shorter than 32 characters: delete the file/);
  });
});
