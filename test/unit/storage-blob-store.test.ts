import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobKeyError, LocalBlobStore } from '../../server/storage/blob-store';

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

describe('LocalBlobStore', function () {
  let root: string;
  let store: LocalBlobStore;

  beforeEach(async function () {
    root = await mkdtemp(join(tmpdir(), 'mp-blobs-'));
    store = new LocalBlobStore(root);
  });

  afterEach(async function () {
    await rm(root, { recursive: true, force: true });
  });

  async function tempFiles(): Promise<string[]> {
    return existsSync(join(root, '.tmp')) ? readdir(join(root, '.tmp')) : [];
  }

  it('stores bytes under a key and reads them back with the size and sha256 it reported', async function () {
    const data = Buffer.from('date,close\n2020-01-02,3257.85\n2020-01-03,3234.85\n');
    const info = await store.put('rounds/1/train.csv', data);
    assert.deepEqual(info, { key: 'rounds/1/train.csv', sizeBytes: data.length, sha256: sha256(data) });
    assert.deepEqual(await readAll(store.read('rounds/1/train.csv')), data);
    assert.deepEqual(await readFile(join(root, 'rounds', '1', 'train.csv')), data);
    const stats = await store.stat('rounds/1/train.csv');
    assert.equal(stats?.sizeBytes, data.length);
    assert.ok(stats?.modifiedAt instanceof Date);
    assert.deepEqual(await tempFiles(), []);
  });

  it('takes a string as UTF-8 and an async iterable of chunks', async function () {
    const text = 'symbol,name\nSPX,S&P 500 — index\n';
    assert.equal((await store.put('a.csv', text)).sha256, sha256(Buffer.from(text, 'utf8')));
    async function* pieces(): AsyncIterable<Uint8Array> {
      yield Buffer.from('one,');
      yield new Uint8Array(0);
      yield new TextEncoder().encode('two,');
      yield Buffer.alloc(100_000, 'x');
      yield Buffer.from('three');
    }
    const expected = Buffer.concat([Buffer.from('one,two,'), Buffer.alloc(100_000, 'x'), Buffer.from('three')]);
    const info = await store.put('b/c.bin', pieces());
    assert.equal(info.sizeBytes, expected.length);
    assert.equal(info.sha256, sha256(expected));
    assert.deepEqual(await readAll(store.read('b/c.bin')), expected);
  });

  it('reads an inclusive byte range', async function () {
    await store.put('r.txt', '0123456789');
    assert.equal((await readAll(store.read('r.txt', { start: 2, end: 5 }))).toString(), '2345');
    assert.equal((await readAll(store.read('r.txt', { start: 9, end: 9 }))).toString(), '9');
    assert.throws(() => store.read('r.txt', { start: 5, end: 2 }), RangeError);
  });

  it('leaves no file at the key and no temporary file when the source fails midway', async function () {
    async function* failing(): AsyncIterable<Uint8Array> {
      yield Buffer.alloc(200_000, 1);
      yield Buffer.from('some more');
      throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    }
    await assert.rejects(store.put('rounds/2/train.csv', failing()), /no space left on device/);
    assert.equal(await store.stat('rounds/2/train.csv'), null);
    assert.equal(existsSync(join(root, 'rounds', '2', 'train.csv')), false);
    assert.deepEqual(await tempFiles(), []);
  });

  it('keeps the previous bytes under a key when a replacing put fails', async function () {
    await store.put('k.csv', 'old contents');
    async function* failing(): AsyncIterable<Uint8Array> {
      yield Buffer.from('new contents that never finish');
      throw new Error('source broke');
    }
    await assert.rejects(store.put('k.csv', failing()), /source broke/);
    assert.equal((await readAll(store.read('k.csv'))).toString(), 'old contents');
    assert.deepEqual(await tempFiles(), []);
  });

  it('removes the temporary file when the key cannot be created after writing', async function () {
    await store.put('plain', 'a file, not a directory');
    await assert.rejects(store.put('plain/child.csv', 'x'), (error: NodeJS.ErrnoException) => ['EEXIST', 'ENOTDIR'].includes(error.code ?? ''));
    assert.deepEqual(await tempFiles(), []);
  });

  it('replaces a key atomically: a reader that opened the old file keeps reading the old bytes', async function () {
    const oldBytes = Buffer.alloc(1024 * 1024, 'o');
    const newBytes = Buffer.alloc(512 * 1024, 'n');
    await store.put('swap.bin', oldBytes);
    const reader = store.read('swap.bin')[Symbol.asyncIterator]();
    const first = await reader.next();
    assert.equal(first.done, false);
    const info = await store.put('swap.bin', newBytes);
    assert.equal(info.sha256, sha256(newBytes));
    const chunks: Buffer[] = [Buffer.from(first.value as Uint8Array)];
    for (let next = await reader.next(); !next.done; next = await reader.next()) chunks.push(Buffer.from(next.value as Uint8Array));
    assert.deepEqual(Buffer.concat(chunks), oldBytes);
    assert.deepEqual(await readAll(store.read('swap.bin')), newBytes);
  });

  it('refuses keys that are absolute, climb out, or have empty segments, backslashes or NUL', async function () {
    const bad = ['', '/etc/passwd', '../x', 'a/../../x', 'a/..', './a', 'a//b', 'a/', 'a\\b', '..\\x', 'a\0b', '.tmp/x'];
    for (const key of bad) {
      await assert.rejects(store.put(key, 'x'), BlobKeyError, `put ${JSON.stringify(key)}`);
      await assert.rejects(store.stat(key), BlobKeyError, `stat ${JSON.stringify(key)}`);
      await assert.rejects(store.delete(key), BlobKeyError, `delete ${JSON.stringify(key)}`);
      assert.throws(() => store.read(key), BlobKeyError, `read ${JSON.stringify(key)}`);
    }
    assert.deepEqual(await readdir(root), []);
  });

  it('says null for a missing key and deletes quietly what is not there', async function () {
    assert.equal(await store.stat('missing.csv'), null);
    assert.equal(await store.stat('missing/dir/file.csv'), null);
    await store.delete('missing.csv');
    await store.put('gone.csv', 'x');
    await store.delete('gone.csv');
    assert.equal(await store.stat('gone.csv'), null);
  });

  it('streams a 50 MB put chunk by chunk without holding it in memory', async function () {
    this.timeout(60_000);
    const chunk = Buffer.alloc(64 * 1024);
    const chunks = 800; // 50 MiB
    const expected = createHash('sha256');
    let peakRss = 0;
    async function* generate(): AsyncIterable<Uint8Array> {
      for (let i = 0; i < chunks; i += 1) {
        chunk.fill(i % 251); // the same buffer, refilled: the store must be done with it by the next pull
        expected.update(chunk);
        if (i % 50 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
        yield chunk;
      }
    }
    const before = process.memoryUsage().rss;
    const info = await store.put('big/stream.bin', generate());
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    assert.equal(info.sizeBytes, chunks * chunk.length);
    assert.equal(info.sha256, expected.digest('hex'));
    assert.equal((await stat(join(root, 'big', 'stream.bin'))).size, chunks * chunk.length);
    assert.ok(peakRss - before < 40 * 1024 * 1024, `rss grew by ${Math.round((peakRss - before) / 1048576)} MB`);
    const check = createHash('sha256');
    for await (const piece of store.read('big/stream.bin')) check.update(piece as Uint8Array);
    assert.equal(check.digest('hex'), info.sha256);
  });
});
