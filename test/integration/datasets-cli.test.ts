import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { downloadFile } from '../../cli/download';
import { CliError, ExitCode } from '../../cli/errors';
import { startTestServer } from '../helpers/server';
import type { TestServer } from '../helpers/server';
import { runMp, type CliResult } from '../helpers/cli-process';
import type { RoundManifest as Manifest } from '../../cli/commands/data/pull';
import type { DataRoundQuery, DataRoundsQuery } from '../../generated/cli-operations';
import { TestRoundDetailDownloadsDocument, type TestRoundDetailDownloadsQuery } from '../../generated/test-operations';

function assertNoStack(result: CliResult): void {
  assert.doesNotMatch(result.stderr, /\n\s+at /, `unexpected stack trace:\n${result.stderr}`);
}

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** What `mp data pull --json` prints (the CLI exports no type for it). */
interface PullSummary {
  round: number;
  files: { name: string; kind: string; path: string; size: number; sha256: string; status: string }[];
}

describe('mp data against the real server (round 1 from the S&P 500)', function () {
  this.timeout(60_000);
  let server: TestServer;
  let vendorKey: string;
  let apiRound: TestRoundDetailDownloadsQuery['round'];
  let work: string;
  let configHome: string;

  const run = (args: string[], key: string | null = vendorKey) =>
    runMp([...args, '--api-url', server.graphqlUrl], { configHome, env: key ? { MP_API_KEY: key } : {} });

  before(async () => {
    server = await startTestServer();
    vendorKey = (await server.createVendor('Data CLI Vendor')).apiKey;
    const response = await server.graphql(TestRoundDetailDownloadsDocument, { number: 1, seconds: 600 }, vendorKey);
    assert.ok(response.data, JSON.stringify(response.errors));
    apiRound = response.data.round;
    assert.equal(apiRound.status, 'OPEN', 'the seeded round 1 is open');
  });
  after(async () => {
    await server?.close();
  });
  beforeEach(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-data-it-'));
    configHome = path.join(work, 'config');
  });
  afterEach(() => {
    fs.rmSync(work, { recursive: true, force: true });
  });

  const liveFiles = () => apiRound.files.filter((f) => ['TRAIN', 'VALIDATION', 'LIVE'].includes(f.kind));

  it('lists rounds as a table and as JSON, without a key', async () => {
    const table = await run(['data', 'list'], null);
    assert.equal(table.code, 0, table.stderr);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    assert.match(header, /^ROUND\s+NAME\s+STATUS\s+OPENS\s+CLOSES\s+HORIZON\s+SYMBOLS\s+FILES$/);
    const row = rows.find((line) => line.startsWith('1 '));
    assert.ok(row, table.stdout);
    assert.match(row, /\bopen\b/);
    assert.match(row, /\b5d\s+1\s+3 \([\d.]+ [kM]B\)$/);

    const json = await run(['data', 'list', '--json', '--status', 'open']);
    assert.equal(json.code, 0, json.stderr);
    const rounds = JSON.parse(json.stdout) as DataRoundsQuery['rounds']['nodes'];
    assert.ok(rounds.some((r) => r.number === 1 && r.status === 'OPEN'));
    assert.ok(rounds.every((r) => r.status === 'OPEN'));
  });

  it('shows the current round with its splits, features and files; --json gives the whole round', async () => {
    const info = await run(['data', 'info']);
    assert.equal(info.code, 0, info.stderr);
    const title = apiRound.name.startsWith('Round 1') ? apiRound.name : `Round 1: ${apiRound.name}`;
    assert.equal(info.stdout.split('\n')[0], title);
    assert.match(info.stdout, /Status:\s+open/);
    assert.match(info.stdout, /Symbols:\s+SPX/);
    assert.match(info.stdout, /Horizon:\s+5 trading days/);
    assert.match(info.stdout, new RegExp(`Features:\\s+${apiRound.featureNames.length}: ${apiRound.featureNames[0]}`));
    for (const split of apiRound.splits) {
      assert.match(info.stdout, new RegExp(`${split.kind.toLowerCase()}\\s+${split.firstDate}\\s+${split.lastDate}`));
    }
    for (const file of apiRound.files) {
      assert.match(
        info.stdout,
        new RegExp(`${file.name}\\s+${file.kind.toLowerCase()}\\s+${file.rowCount.toLocaleString('en-US')}\\s+[\\d.]+ [kM]?B\\s+${file.sha256.slice(0, 12)}`),
      );
    }

    const json = await run(['data', 'info', '--round', '1', '--json'], null);
    assert.equal(json.code, 0, json.stderr);
    const round = JSON.parse(json.stdout) as DataRoundQuery['round'];
    assert.equal(round.number, 1);
    assert.deepEqual(round.featureNames, apiRound.featureNames);
    assert.deepEqual(
      round.files.map((f) => [f.name, f.sha256, f.sizeBytes]),
      apiRound.files.map((f) => [f.name, f.sha256, f.sizeBytes]),
    );
  });

  it('pulls every file, verified against round.json and the API; a second pull is up to date', async () => {
    const dir = path.join(work, 'data');
    const pull = await run(['data', 'pull', '--round', 'current', '--dir', dir]);
    assert.equal(pull.code, 0, pull.stderr);
    assertNoStack(pull);
    // eslint-disable-next-line no-control-regex -- looking for escape codes
    assert.doesNotMatch(pull.stderr, /\x1b\[/, 'no bar or colors when stderr is a pipe');
    assert.match(pull.stderr, /train\.csv [\d.]+ [kM]?B \/ [\d.]+ [kM]?B \(100%\)/);

    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'round.json'), 'utf8')) as Manifest;
    assert.equal(manifest.round, 1);
    assert.equal(manifest.name, apiRound.name);
    assert.equal(manifest.status, 'OPEN');
    assert.equal(manifest.horizonDays, 5);
    assert.deepEqual(manifest.featureNames, apiRound.featureNames);
    assert.deepEqual(manifest.splits, apiRound.splits);
    assert.equal(manifest.apiUrl, server.graphqlUrl);
    assert.deepEqual(
      manifest.files.map((f) => [f.name, f.kind, f.sha256, f.size, f.rows]),
      liveFiles().map((f) => [f.name, f.kind, f.sha256, f.sizeBytes, f.rowCount]),
    );
    for (const file of liveFiles()) {
      const local = path.join(dir, file.name);
      assert.equal(sha256(local), file.sha256, `${file.name} hashes as the API says`);
      assert.equal(fs.statSync(local).size, file.sizeBytes);
      assert.equal(fs.existsSync(`${local}.part`), false);
      assert.match(pull.stdout, new RegExp(`^${file.name}\\s+${file.kind.toLowerCase()}\\s+[\\d.]+ [kM]?B\\s+downloaded\\s+${file.sha256.slice(0, 12)}$`, 'm'));
    }
    assert.match(pull.stdout, /Round 1 in .* \(3 downloaded and verified\); manifest .*round\.json\n$/);

    const again = await run(['data', 'pull', '--dir', dir, '--json']);
    assert.equal(again.code, 0, again.stderr);
    for (const file of liveFiles()) assert.match(again.stderr, new RegExp(`${file.name} is up to date`));
    const summary = JSON.parse(again.stdout) as PullSummary;
    assert.equal(summary.round, 1);
    assert.deepEqual(
      summary.files.map((f) => [f.name, f.status, f.sha256, f.size, f.path]),
      liveFiles().map((f) => [f.name, 'up-to-date', f.sha256, f.sizeBytes, path.join(dir, f.name)]),
    );
  });

  it('downloads again a final file that was truncated, and resumes a partial .part with a Range request', async () => {
    const dir = path.join(work, 'data');
    assert.equal((await run(['data', 'pull', '--dir', dir])).code, 0);
    const train = liveFiles().find((f) => f.kind === 'TRAIN');
    assert.ok(train);
    const trainPath = path.join(dir, train.name);
    const original = fs.readFileSync(trainPath);

    fs.truncateSync(trainPath, Math.floor(original.length / 3));
    const repaired = await run(['data', 'pull', '--dir', dir, '--json']);
    assert.equal(repaired.code, 0, repaired.stderr);
    const summary = JSON.parse(repaired.stdout) as PullSummary;
    assert.deepEqual(
      summary.files.map((f) => f.status),
      liveFiles().map((f) => (f.kind === 'TRAIN' ? 'downloaded' : 'up-to-date')),
    );
    assert.equal(sha256(trainPath), train.sha256);

    // An interrupted download leaves a prefix in train.csv.part: the next pull fetches only the rest.
    fs.rmSync(trainPath);
    fs.writeFileSync(`${trainPath}.part`, original.subarray(0, Math.floor(original.length / 2)));
    const resumed = await run(['data', 'pull', '--dir', dir, '--kind', 'train', '--json']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal((JSON.parse(resumed.stdout) as PullSummary).files[0].status, 'resumed');
    assert.match(resumed.stderr, /resuming at/);
    assert.equal(sha256(trainPath), train.sha256);
    assert.equal(fs.existsSync(`${trainPath}.part`), false);
  });

  it('pulls only live.csv with --kind live', async () => {
    const dir = path.join(work, 'live-only');
    const pull = await run(['data', 'pull', '--round', '1', '--kind', 'live', '--dir', dir]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['live.csv', 'round.json']);
    const live = liveFiles().find((f) => f.kind === 'LIVE');
    assert.equal(sha256(path.join(dir, 'live.csv')), live?.sha256);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'round.json'), 'utf8')) as Manifest;
    assert.deepEqual(
      manifest.files.map((f) => f.name),
      ['live.csv'],
    );
  });

  it('exits 4 for an unknown round (info and pull)', async () => {
    for (const args of [
      ['data', 'info', '--round', '999'],
      ['data', 'pull', '--round', '999', '--dir', path.join(work, 'x')],
    ]) {
      const result = await run(args);
      assert.equal(result.code, 4, result.stderr);
      assert.match(result.stderr, /^mp: no round 999/);
      assertNoStack(result);
    }
    assert.equal(fs.existsSync(path.join(work, 'x')), false, 'nothing created for a round that does not exist');
  });

  it('exits 3 without a key', async () => {
    const result = await run(['data', 'pull', '--dir', path.join(work, 'data')], null);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /^mp: not logged in/);
    assert.equal(fs.existsSync(path.join(work, 'data')), false);
  });

  it('exits 5 "cannot write to <dir>" for a directory that cannot be written, downloading nothing', async () => {
    fs.writeFileSync(path.join(work, 'a-file'), 'not a directory');
    const dir = path.join(work, 'a-file', 'data');
    const result = await run(['data', 'pull', '--dir', dir]);
    assert.equal(result.code, 5, result.stderr);
    assert.equal(result.stderr.split('\n')[0], `mp: cannot write to ${dir}: a part of the path is not a directory`);
    assert.equal(result.stdout, '');
  });

  it("reports the file route's one-line reason for a tampered signed URL (exit 5)", async () => {
    const train = liveFiles()[0];
    const url = new URL(train.downloadUrl);
    const [name] = [...url.searchParams.keys()].filter((key) => /sig/i.test(key));
    assert.ok(name, `a signature parameter in ${train.downloadUrl}`);
    url.searchParams.set(name, `${url.searchParams.get(name)?.slice(0, -2) ?? ''}xx`);
    await assert.rejects(
      downloadFile({ name: train.name, url: url.toString(), sha256: train.sha256, sizeBytes: train.sizeBytes }, { dir: work }),
      (error: unknown) =>
        error instanceof CliError && error.exitCode === ExitCode.INVALID && /^download of train\.csv refused \(HTTP 403\): \S/.test(error.message),
    );
    assert.equal(fs.existsSync(path.join(work, `${train.name}.part`)), false);
  });
});
