import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { contentRangeStart, downloadFile, ensureWritableDir, sha256File } from '../../cli/download';
import type { DownloadOptions, DownloadSpec } from '../../cli/download';
import { CliError, ExitCode } from '../../cli/errors';
import { PlainProgress } from '../../cli/progress';
import { formatBytes } from '../../cli/format';
import type { ProgressReporter } from '../../cli/progress';

/** How the stand-in file route misbehaves, if at all. */
type Mode =
  | 'normal'
  /** Answers every request with 200 and the whole file, Range or not. */
  | 'ignore-range'
  /** Sends the headers and half the bytes, then drops the connection. */
  | 'drop-midway'
  /** Sends half the bytes, then stalls (for Ctrl-C). */
  | 'stall-midway'
  /** Serves other bytes than the checksum the API announced. */
  | 'corrupt'
  | 'forbidden'
  | 'missing';

interface SeenRequest {
  method: string;
  range?: string;
  ifRange?: string;
}

/**
 * A real HTTP server on port 0 that stands in for the marketplace's file route: GET/HEAD,
 * Content-Length, ETag "<sha256>", Accept-Ranges, one bytes range (206 + Content-Range),
 * 416 when unsatisfiable, If-Range by ETag, and a one-line text/plain reason on errors.
 */
async function fileServer(content: Buffer) {
  const sha256 = createHash('sha256').update(content).digest('hex');
  const etag = `"${sha256}"`;
  const seen: SeenRequest[] = [];
  const state = { mode: 'normal' as Mode };
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined });
    const text = (status: number, reason: string) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${reason}\n`);
    };
    if (state.mode === 'forbidden') return text(403, 'signature expired at 2026-11-25T17:00:00Z');
    if (state.mode === 'missing') return text(404, 'no such file');
    const body = state.mode === 'corrupt' ? Buffer.from(content).fill(0x41, 0, 10) : content;
    const size = body.length;
    let start = 0;
    let end = size - 1;
    let partial = false;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    if (range && state.mode !== 'ignore-range' && (ifRange === undefined || ifRange === etag)) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
      if (start >= size || end < start) {
        res.writeHead(416, { 'content-range': `bytes */${size}`, 'content-type': 'text/plain' });
        res.end('range not satisfiable\n');
        return;
      }
      partial = true;
    }
    const headers: http.OutgoingHttpHeaders = {
      etag,
      'accept-ranges': 'bytes',
      'content-type': 'text/csv',
      'content-length': end - start + 1,
    };
    if (partial) headers['content-range'] = `bytes ${start}-${end}/${size}`;
    res.writeHead(partial ? 206 : 200, headers);
    if (req.method === 'HEAD') return res.end();
    const slice = body.subarray(start, end + 1);
    if (state.mode === 'drop-midway' || state.mode === 'stall-midway') {
      const half = slice.subarray(0, Math.floor(slice.length / 2));
      res.write(half, () => {
        if (state.mode === 'drop-midway') setTimeout(() => res.socket?.destroy(), 20);
      });
      return;
    }
    res.end(slice);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/files/rounds/1/train.csv?expires=1&sig=abc`,
    sha256,
    seen,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function expectCliError(promise: Promise<unknown>, exitCode: number): Promise<CliError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof CliError, `expected a CliError, got ${String(error)}`);
    assert.equal(error.exitCode, exitCode, `exit code of: ${error.message}`);
    return error;
  }
  assert.fail('expected the download to fail');
}

const sha = (buffer: Buffer) => createHash('sha256').update(buffer).digest('hex');

describe('download engine (cli/download.ts) against a real HTTP file server', function () {
  this.timeout(20_000);
  const content = randomBytes(3 * 1024 * 1024 + 123);
  let server: Awaited<ReturnType<typeof fileServer>>;
  let dir: string;
  let spec: DownloadSpec;
  const finalPath = () => path.join(dir, 'train.csv');
  const partPath = () => path.join(dir, 'train.csv.part');
  const logs: string[] = [];
  const options = (extra: Partial<DownloadOptions> = {}): DownloadOptions => ({ dir, log: (line) => logs.push(line), ...extra });

  before(async () => {
    server = await fileServer(content);
  });
  after(async () => {
    await server.close();
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-download-'));
    server.seen.length = 0;
    server.state.mode = 'normal';
    logs.length = 0;
    spec = { name: 'train.csv', url: server.url, sha256: server.sha256, sizeBytes: content.length };
  });
  afterEach(() => {
    fs.chmodSync(dir, 0o755);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('downloads a whole file, verifies its sha256 and leaves no .part behind', async () => {
    const result = await downloadFile(spec, options());
    assert.equal(result.status, 'downloaded');
    assert.equal(result.path, finalPath());
    assert.equal(result.sha256, server.sha256);
    assert.ok(fs.readFileSync(finalPath()).equals(content));
    assert.equal(fs.existsSync(partPath()), false);
    assert.deepEqual(server.seen, [{ method: 'GET', range: undefined, ifRange: undefined }]);
  });

  it('resumes a partial .part with Range and If-Range, and the final file hashes right', async () => {
    const kept = 1_000_001;
    fs.writeFileSync(partPath(), content.subarray(0, kept));
    const result = await downloadFile(spec, options());
    assert.equal(result.status, 'resumed');
    assert.deepEqual(server.seen, [{ method: 'GET', range: `bytes=${kept}-`, ifRange: `"${server.sha256}"` }]);
    assert.equal(await sha256File(finalPath()), server.sha256);
    assert.equal(fs.existsSync(partPath()), false);
    assert.ok(
      logs.some((line) => /resuming at 1\.0 MB/.test(line)),
      logs.join('\n'),
    );
  });

  it('starts again from zero when the server ignores the Range and answers 200', async () => {
    server.state.mode = 'ignore-range';
    fs.writeFileSync(partPath(), content.subarray(0, 500_000));
    const result = await downloadFile(spec, options());
    assert.equal(result.status, 'downloaded');
    assert.equal(server.seen.length, 1);
    assert.equal(server.seen[0].range, 'bytes=500000-');
    assert.ok(fs.readFileSync(finalPath()).equals(content), 'the final file is exactly the served file');
    assert.ok(
      logs.some((line) => /whole file instead of the rest; starting from zero/.test(line)),
      logs.join('\n'),
    );
  });

  it('discards a .part longer than the file and downloads from zero', async () => {
    fs.writeFileSync(partPath(), Buffer.concat([content, Buffer.from('extra')]));
    const result = await downloadFile(spec, options());
    assert.equal(result.status, 'downloaded');
    assert.equal(server.seen[0].range, undefined);
    assert.ok(fs.readFileSync(finalPath()).equals(content));
  });

  it('downloads from zero once when a resumed file does not match (a stale .part of another file)', async () => {
    fs.writeFileSync(partPath(), randomBytes(700_000));
    const result = await downloadFile(spec, options());
    assert.equal(result.status, 'downloaded');
    assert.deepEqual(
      server.seen.map((r) => r.range),
      ['bytes=700000-', undefined],
    );
    assert.ok(fs.readFileSync(finalPath()).equals(content));
    assert.ok(
      logs.some((line) => /did not match its checksum; downloading it from the start/.test(line)),
      logs.join('\n'),
    );
  });

  it('restarts without a range when the server answers 416 (it has fewer bytes than the .part)', async () => {
    // The API announced a bigger file than the server has; the .part is bigger than what is served.
    spec = { ...spec, sizeBytes: content.length + 10 };
    fs.writeFileSync(partPath(), Buffer.alloc(content.length + 5));
    const result = await downloadFile(spec, options());
    assert.equal(server.seen.length, 2);
    assert.equal(server.seen[0].range, `bytes=${content.length + 5}-`);
    assert.equal(server.seen[1].range, undefined);
    assert.equal(result.status, 'downloaded');
    assert.ok(fs.readFileSync(finalPath()).equals(content), 'the checksum, not the announced size, decides');
  });

  it('removes the file and fails with exit 5 naming the file, expected and actual hashes on a checksum mismatch', async () => {
    server.state.mode = 'corrupt';
    const error = await expectCliError(downloadFile(spec, options()), ExitCode.INVALID);
    const actual = sha(Buffer.from(content).fill(0x41, 0, 10));
    assert.equal(error.message, `checksum mismatch for train.csv: expected sha256 ${server.sha256}, got ${actual}; the file was removed`);
    assert.equal(fs.existsSync(finalPath()), false);
    assert.equal(fs.existsSync(partPath()), false);
  });

  it('keeps the .part when the server drops the connection midway, says to re-run, and the re-run resumes', async () => {
    server.state.mode = 'drop-midway';
    const error = await expectCliError(downloadFile(spec, options()), ExitCode.UNREACHABLE);
    assert.match(error.message, /^download of train\.csv stopped at .* of 3\.1 MB: /);
    assert.match(error.hint ?? '', /Kept .*train\.csv\.part: run the same command again to resume/);
    assert.equal(fs.existsSync(finalPath()), false, 'no final file after a failed transfer');
    const kept = fs.statSync(partPath()).size;
    assert.ok(kept > 0 && kept < content.length, `kept ${kept} bytes`);
    assert.ok(content.subarray(0, kept).equals(fs.readFileSync(partPath())), 'the .part is a prefix of the file');

    server.state.mode = 'normal';
    server.seen.length = 0;
    const result = await downloadFile(spec, options());
    assert.equal(result.status, 'resumed');
    assert.equal(server.seen[0].range, `bytes=${kept}-`);
    assert.ok(fs.readFileSync(finalPath()).equals(content));
  });

  it('stops on abort (Ctrl-C) with exit 130, keeps the .part and never creates the final file', async () => {
    server.state.mode = 'stall-midway';
    const controller = new AbortController();
    const progress: ProgressReporter = {
      start: () => ({
        update: (done) => {
          if (done >= 1_000_000) controller.abort();
        },
        finish: () => undefined,
        abort: () => undefined,
      }),
    };
    const error = await expectCliError(downloadFile(spec, options({ signal: controller.signal, progress })), ExitCode.INTERRUPTED);
    assert.match(error.message, /^interrupted: kept .*train\.csv\.part \(.* of 3\.1 MB\); run the same command again to resume$/);
    assert.equal(fs.existsSync(finalPath()), false);
    assert.ok(fs.statSync(partPath()).size > 0);
  });

  it('skips a file already present with the right checksum, without any request', async () => {
    fs.writeFileSync(finalPath(), content);
    const result = await downloadFile(spec, options());
    assert.equal(result.status, 'up-to-date');
    assert.equal(server.seen.length, 0);
    assert.deepEqual(logs, ['train.csv is up to date']);
  });

  it('downloads again a present file whose checksum is wrong, and any file with --force', async () => {
    fs.writeFileSync(finalPath(), content.subarray(0, 1000));
    assert.equal((await downloadFile(spec, options())).status, 'downloaded');
    assert.ok(fs.readFileSync(finalPath()).equals(content));
    assert.equal((await downloadFile(spec, options({ force: true }))).status, 'downloaded');
    assert.equal(server.seen.length, 2);
  });

  it('with --force ignores a .part and downloads from byte 0', async () => {
    fs.writeFileSync(partPath(), content.subarray(0, 1000));
    await downloadFile(spec, options({ force: true }));
    assert.equal(server.seen[0].range, undefined);
  });

  it('fails with exit 5 "cannot write to <dir>" for a directory that cannot be created, before any request', async () => {
    const file = path.join(dir, 'plain-file');
    fs.writeFileSync(file, 'x');
    const target = path.join(file, 'data');
    const error = await expectCliError(ensureWritableDir(target), ExitCode.INVALID);
    assert.equal(error.message, `cannot write to ${target}: a part of the path is not a directory`);
    assert.equal(server.seen.length, 0);
  });

  it('fails with exit 5 for a directory the file system refuses to create (under /proc), instead of hanging', async function () {
    if (!fs.existsSync('/proc/self')) this.skip();
    const error = await expectCliError(ensureWritableDir('/proc/mp-no-such-dir/data'), ExitCode.INVALID);
    assert.equal(error.message, 'cannot write to /proc/mp-no-such-dir/data: no such file or directory');
  });

  it('fails with exit 5 for a read-only directory', async function () {
    if (process.getuid?.() === 0) this.skip(); // root writes anywhere
    fs.chmodSync(dir, 0o555);
    const error = await expectCliError(ensureWritableDir(dir), ExitCode.INVALID);
    assert.equal(error.message, `cannot write to ${dir}: permission denied`);
  });

  it('creates a missing directory', async () => {
    const target = path.join(dir, 'a', 'b');
    await ensureWritableDir(target);
    assert.ok(fs.statSync(target).isDirectory());
    assert.deepEqual(fs.readdirSync(target), [], 'the probe file is removed');
  });

  it('fails with exit 5 "cannot write to <dir>" when the disk is full mid-download', async function () {
    if (!fs.existsSync('/dev/full')) this.skip();
    fs.symlinkSync('/dev/full', partPath());
    const error = await expectCliError(downloadFile({ ...spec, name: 'train.csv' }, options({ force: false })), ExitCode.INVALID);
    assert.equal(error.message, `cannot write to ${dir}: no space left on device`);
    assert.equal(fs.existsSync(finalPath()), false);
  });

  it('reports a 403 from a signed URL in one line with the server reason, exit 5', async () => {
    server.state.mode = 'forbidden';
    const error = await expectCliError(downloadFile(spec, options()), ExitCode.INVALID);
    assert.equal(error.message, 'download of train.csv refused (HTTP 403): signature expired at 2026-11-25T17:00:00Z');
    assert.match(error.hint ?? '', /run the command again/);
    assert.equal(fs.existsSync(partPath()), false);
  });

  it('maps 404 to exit 4', async () => {
    server.state.mode = 'missing';
    const error = await expectCliError(downloadFile(spec, options()), ExitCode.NOT_FOUND);
    assert.equal(error.message, 'train.csv is not on the server (HTTP 404): no such file');
  });

  it('maps a refused connection to exit 6 without printing the signature', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await expectCliError(downloadFile({ ...spec, url: `http://127.0.0.1:${port}/files/x.csv?sig=secret` }, options()), ExitCode.UNREACHABLE);
    assert.equal(error.message, `cannot reach http://127.0.0.1:${port}/files/x.csv: connection refused`);
  });

  it('refuses a file name that would escape the directory', async () => {
    const error = await expectCliError(downloadFile({ ...spec, name: '../evil.csv' }, options()), ExitCode.UNEXPECTED);
    assert.match(error.message, /unsafe file name/);
    assert.equal(server.seen.length, 0);
  });

  it('prints plain progress lines with bytes, percent and rate when not on a terminal', async () => {
    let text = '';
    const progress = new PlainProgress({ write: (chunk: string) => (text += chunk) }, 1000);
    await downloadFile(spec, options({ progress }));
    assert.match(text, /^train\.csv 3\.1 MB \/ 3\.1 MB \(100%\) [\d.]+ [kMG]?B\/s, done in [\d.]+ m?s\n$/);
  });

  it('parses Content-Range and formats sizes', () => {
    assert.equal(contentRangeStart('bytes 100-999/1000'), 100);
    assert.equal(contentRangeStart('bytes 0-0/*'), 0);
    assert.equal(contentRangeStart(null), undefined);
    assert.equal(contentRangeStart('bytes */1000'), undefined);
    assert.equal(formatBytes(812), '812 B');
    assert.equal(formatBytes(12_345), '12.3 kB');
    assert.equal(formatBytes(40_100_000), '40.1 MB');
    assert.equal(formatBytes(256_000_000), '256 MB');
  });
});
