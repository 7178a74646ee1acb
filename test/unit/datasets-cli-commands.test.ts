import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { parseKinds } from '../../cli/commands/data/flags';
import { parseRound } from '../../cli/flag-parsers';
import { roundTitle } from '../../cli/commands/data/round-display';
import { run as dataInfo } from '../../cli/commands/data/info';
import { run as dataList } from '../../cli/commands/data/list';
import { run as dataPull } from '../../cli/commands/data/pull';
import type { DataPullArgs, RoundManifest } from '../../cli/commands/data/pull';
import { CliError, ExitCode } from '../../cli/errors';
import type { GlobalArgs } from '../../cli/global-options';
import { buildCli } from '../../cli/index';
import type { Io } from '../../cli/io';
import { BufferedOutput, closeServer, expectCliError, graphqlListener, inProcessIo, listenLocally } from '../helpers/cli-fakes';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

function csv(rows: number, target: boolean): string {
  const header = `date,symbol,ret_1d,ret_5d${target ? ',target' : ''}`;
  const lines = Array.from({ length: rows }, (_, i) => `2020-01-${String((i % 28) + 1).padStart(2, '0')},SPX,0.${i % 10},0.5${target ? ',0.75' : ''}`);
  return `${[header, ...lines].join('\n')}\n`;
}

const CONTENTS: Record<string, string> = {
  'train.csv': csv(3000, true),
  'validation.csv': csv(700, true),
  'live.csv': csv(60, false),
};

function roundFixture(baseUrl: string) {
  const file = (name: string, kind: string) => ({
    name,
    kind,
    format: 'csv',
    sizeBytes: Buffer.byteLength(CONTENTS[name]),
    sha256: sha(CONTENTS[name]),
    rowCount: CONTENTS[name].split('\n').length - 2,
    columns: CONTENTS[name].split('\n')[0].split(','),
    downloadUrl: `${baseUrl}/files/rounds/1/${name}?expires=9999999999&sig=abc`,
  });
  return {
    number: 1,
    name: 'S&P 500 daily 2000-2020',
    status: 'OPEN',
    description: 'Built from the S&P 500 index.',
    opensAt: '2026-11-25T17:00:00.000Z',
    closesAt: null,
    resolvesAt: null,
    createdAt: '2026-11-25T16:59:00.000Z',
    symbols: ['SPX'],
    horizonDays: 5,
    featureNames: ['ret_1d', 'ret_5d'],
    splits: [
      { kind: 'TRAIN', firstDate: '2000-04-03', lastDate: '2015-12-31' },
      { kind: 'VALIDATION', firstDate: '2016-01-11', lastDate: '2018-12-31' },
      { kind: 'LIVE', firstDate: '2019-01-09', lastDate: '2020-04-17' },
    ],
    files: [file('train.csv', 'TRAIN'), file('validation.csv', 'VALIDATION'), file('live.csv', 'LIVE')],
  };
}

interface Seen {
  operationName?: string;
  variables?: Record<string, unknown>;
  authorization?: string;
  file?: string;
}

/** One local server for both the GraphQL API and the signed file route. */
async function fakeMarketplace(options: { current?: boolean; stallAfterHalf?: () => void; missing?: string } = {}) {
  const seen: Seen[] = [];
  let baseUrl = '';
  const answerGraphql = graphqlListener(seen, (operationName, variables) => {
    const round = roundFixture(baseUrl);
    switch (operationName) {
      case 'DataRounds':
        return { data: { rounds: { totalCount: 1, pageInfo: { hasNextPage: false, endCursor: null }, nodes: [round] } } };
      case 'DataCurrentRound':
      case 'DataCurrentRoundDownloads':
        return { data: { currentRound: options.current === false ? null : round } };
      case 'DataRound':
      case 'DataRoundDownloads':
        return variables.number === 1
          ? { data: { round } }
          : { data: null, errors: [{ message: `no round ${String(variables.number)}`, extensions: { code: 'NOT_FOUND' } }] };
      default:
        return { errors: [{ message: 'unexpected operation' }] };
    }
  });
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/files/')) {
      const name = path.basename(url.split('?')[0]);
      seen.push({ file: name });
      const body = CONTENTS[name];
      if (name === options.missing) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('no such file\n');
        return;
      }
      res.writeHead(200, { 'content-length': Buffer.byteLength(body), etag: `"${sha(body)}"`, 'accept-ranges': 'bytes' });
      if (options.stallAfterHalf) {
        // Half the bytes, then nothing: the download hangs until the user presses Ctrl-C.
        const stalled = options.stallAfterHalf;
        res.write(body.slice(0, Math.floor(body.length / 2)), () => stalled());
        return;
      }
      res.end(body);
      return;
    }
    answerGraphql(req, res);
  });
  baseUrl = await listenLocally(server);
  return { graphqlUrl: `${baseUrl}/graphql`, seen, close: () => closeServer(server) };
}

const KEY = `vk_${'a'.repeat(12)}_${'b'.repeat(38)}`;

describe('mp data commands (in-process, against a local stand-in API)', function () {
  this.timeout(20_000);
  let api: Awaited<ReturnType<typeof fakeMarketplace>> | undefined;
  let work: string;
  let stdout: BufferedOutput;
  let stderr: BufferedOutput;

  beforeEach(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-data-'));
    stdout = new BufferedOutput();
    stderr = new BufferedOutput();
  });
  afterEach(async () => {
    await api?.close();
    api = undefined;
    fs.rmSync(work, { recursive: true, force: true });
  });

  function io(key: string | null = KEY): Io {
    const env: NodeJS.ProcessEnv = { XDG_CONFIG_HOME: path.join(work, 'config') };
    if (key) env.MP_API_KEY = key;
    return inProcessIo(stdout, stderr, env);
  }

  function globals(json = false): GlobalArgs {
    assert.ok(api, 'start the stand-in API first');
    return { apiUrl: api.graphqlUrl, json, verbose: false, color: false };
  }

  function pullArgs(extra: Partial<DataPullArgs> = {}): DataPullArgs {
    return { ...globals(), round: 'current', dir: path.join(work, 'data'), kind: ['train', 'validation', 'live'], force: false, ...extra };
  }

  describe('mp data list', () => {
    it('prints a table of rounds with status, dates, horizon, symbols and files', async () => {
      api = await fakeMarketplace();
      await dataList(globals(), io(null));
      const [header, row] = stdout.text.trimEnd().split('\n');
      assert.match(header, /^ROUND\s+NAME\s+STATUS\s+OPENS\s+CLOSES\s+HORIZON\s+SYMBOLS\s+FILES$/);
      assert.match(row, /^1\s+S&P 500 daily 2000-2020\s+open\s+2026-11-25\s+-\s+5d\s+1\s+3 \(\d+(\.\d)? kB\)$/);
      assert.equal(api.seen[0].authorization, undefined, 'no key, no Authorization header');
    });

    it('prints JSON with --json and passes --status as the enum', async () => {
      api = await fakeMarketplace();
      await dataList({ ...globals(true), status: 'open' }, io());
      const rounds = JSON.parse(stdout.text) as { number: number }[];
      assert.deepEqual(
        rounds.map((r) => r.number),
        [1],
      );
      assert.equal(api.seen[0].variables?.status, 'OPEN');
      assert.equal(api.seen[0].authorization, `Bearer ${KEY}`, 'a key is sent when there is one');
    });
  });

  describe('mp data info', () => {
    it('shows the current round: dates, symbols, horizon, features, splits and files', async () => {
      api = await fakeMarketplace();
      await dataInfo({ ...globals(), round: 'current' }, io());
      const text = stdout.text;
      assert.match(text, /^Round 1: S&P 500 daily 2000-2020\n/);
      assert.equal(roundTitle({ number: 1, name: 'Round 1: S&P 500' }), 'Round 1: S&P 500', 'no "Round 1: Round 1"');
      assert.match(text, /Status:\s+open/);
      assert.match(text, /Opens:\s+2026-11-25 17:00 UTC/);
      assert.match(text, /Symbols:\s+SPX/);
      assert.match(text, /Horizon:\s+5 trading days/);
      assert.match(text, /Features:\s+2: ret_1d, ret_5d/);
      assert.match(text, /SPLIT\s+FIRST DATE\s+LAST DATE\ntrain\s+2000-04-03\s+2015-12-31\nvalidation/);
      assert.match(
        text,
        new RegExp(`FILE\\s+KIND\\s+ROWS\\s+SIZE\\s+SHA256\\ntrain\\.csv\\s+train\\s+3,000\\s+[\\d.]+ kB\\s+${sha(CONTENTS['train.csv']).slice(0, 12)}`),
      );
      assert.equal(api.seen[0].operationName, 'DataCurrentRound');
    });

    it('gives the whole round with --json, and asks for a numbered round with --round N', async () => {
      api = await fakeMarketplace();
      await dataInfo({ ...globals(true), round: 1 }, io());
      const round = JSON.parse(stdout.text) as { number: number; files: unknown[]; featureNames: string[] };
      assert.equal(round.number, 1);
      assert.equal(round.files.length, 3);
      assert.deepEqual(api.seen[0], { operationName: 'DataRound', variables: { number: 1 }, authorization: `Bearer ${KEY}` });
    });

    it('exits 4 with "no round is open right now" when there is no current round', async () => {
      api = await fakeMarketplace({ current: false });
      const error = await expectCliError(dataInfo({ ...globals(), round: 'current' }, io()), ExitCode.NOT_FOUND);
      assert.equal(error.message, 'no round is open right now');
    });

    it('exits 4 for an unknown round (NOT_FOUND)', async () => {
      api = await fakeMarketplace();
      await expectCliError(dataInfo({ ...globals(), round: 42 }, io()), ExitCode.NOT_FOUND);
    });
  });

  describe('mp data pull', () => {
    it('exits 3 without a key, before any request', async () => {
      api = await fakeMarketplace();
      await expectCliError(dataPull(pullArgs(), io(null)), ExitCode.AUTH);
      assert.equal(api.seen.length, 0);
    });

    it('downloads and verifies every file, writes round.json, and prints only the summary on stdout', async () => {
      api = await fakeMarketplace();
      await dataPull(pullArgs(), io());
      const dir = path.join(work, 'data');
      for (const [name, body] of Object.entries(CONTENTS)) assert.equal(fs.readFileSync(path.join(dir, name), 'utf8'), body);
      assert.deepEqual(fs.readdirSync(dir).sort(), ['live.csv', 'round.json', 'train.csv', 'validation.csv']);
      assert.deepEqual(api.seen[0], {
        operationName: 'DataCurrentRoundDownloads',
        variables: { expiresInSeconds: 3600 },
        authorization: `Bearer ${KEY}`,
      });

      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'round.json'), 'utf8')) as RoundManifest;
      assert.equal(manifest.round, 1);
      assert.equal(manifest.name, 'S&P 500 daily 2000-2020');
      assert.equal(manifest.status, 'OPEN');
      assert.equal(manifest.horizonDays, 5);
      assert.deepEqual(manifest.featureNames, ['ret_1d', 'ret_5d']);
      assert.equal(manifest.splits.length, 3);
      assert.equal(manifest.apiUrl, api.graphqlUrl);
      assert.ok(!Number.isNaN(Date.parse(manifest.pulledAt)));
      assert.deepEqual(
        manifest.files.map((f) => [f.name, f.kind, f.sha256, f.size, f.rows]),
        Object.entries(CONTENTS).map(([name, body], i) => [
          name,
          ['TRAIN', 'VALIDATION', 'LIVE'][i],
          sha(body),
          Buffer.byteLength(body),
          body.split('\n').length - 2,
        ]),
      );

      const lines = stdout.text.trimEnd().split('\n');
      assert.match(lines[0], /^FILE\s+KIND\s+SIZE\s+STATUS\s+SHA256$/);
      assert.match(lines[1], /^train\.csv\s+train\s+[\d.]+ kB\s+downloaded\s+[0-9a-f]{12}$/);
      assert.match(lines[4], /^Round 1 in .*data \(3 downloaded and verified\); manifest .*round\.json$/);
      assert.match(stderr.text, /^Pulling 3 files \([\d.]+ kB\) of Round 1: S&P 500 daily 2000-2020 into /);
      assert.match(stderr.text, /train\.csv [\d.]+ kB \/ [\d.]+ kB \(100%\) .*done in/);
      // eslint-disable-next-line no-control-regex -- looking for escape codes
      assert.doesNotMatch(stderr.text, /\x1b\[/, 'no bar or color codes when stderr is not a terminal');
    });

    it('says "up to date" on a second pull and downloads nothing', async () => {
      api = await fakeMarketplace();
      await dataPull(pullArgs(), io());
      api.seen.length = 0;
      stdout.text = '';
      stderr.text = '';
      await dataPull(pullArgs({ json: true }), io());
      assert.deepEqual(
        api.seen.filter((s) => s.file),
        [],
      );
      assert.match(stderr.text, /train\.csv is up to date/);
      const summary = JSON.parse(stdout.text) as { round: number; files: { name: string; path: string; size: number; sha256: string; status: string }[] };
      assert.equal(summary.round, 1);
      assert.deepEqual(
        summary.files.map((f) => f.status),
        ['up-to-date', 'up-to-date', 'up-to-date'],
      );
      assert.equal(summary.files[0].path, path.join(work, 'data', 'train.csv'));
      assert.equal(summary.files[0].sha256, sha(CONTENTS['train.csv']));
    });

    it('pulls only the kinds asked for, and keeps earlier files of the same round in round.json', async () => {
      api = await fakeMarketplace();
      await dataPull(pullArgs({ kind: ['train'] }), io());
      await dataPull(pullArgs({ kind: ['live'] }), io());
      const dir = path.join(work, 'data');
      assert.deepEqual(fs.readdirSync(dir).sort(), ['live.csv', 'round.json', 'train.csv']);
      assert.deepEqual(
        api.seen.filter((s) => s.file).map((s) => s.file),
        ['train.csv', 'live.csv'],
      );
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'round.json'), 'utf8')) as RoundManifest;
      assert.deepEqual(
        manifest.files.map((f) => f.name),
        ['train.csv', 'live.csv'],
      );
    });

    it('exits 4 when a file URL answers 404, keeping the files verified before it in round.json', async () => {
      api = await fakeMarketplace({ missing: 'live.csv' });
      const error = await expectCliError(dataPull(pullArgs(), io()), ExitCode.NOT_FOUND);
      assert.equal(error.message, 'live.csv is not on the server (HTTP 404): no such file');
      const dir = path.join(work, 'data');
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'round.json'), 'utf8')) as RoundManifest;
      assert.deepEqual(
        manifest.files.map((f) => f.name),
        ['train.csv', 'validation.csv'],
      );
      assert.equal(stdout.text, '');
    });

    it('exits 5 "cannot write to <dir>" before downloading anything', async () => {
      api = await fakeMarketplace();
      fs.writeFileSync(path.join(work, 'file'), 'x');
      const dir = path.join(work, 'file', 'data');
      const error = await expectCliError(dataPull(pullArgs({ dir }), io()), ExitCode.INVALID);
      assert.equal(error.message, `cannot write to ${dir}: a part of the path is not a directory`);
      assert.deepEqual(
        api.seen.filter((s) => s.file),
        [],
      );
    });

    it('exits 4 when the round has no file of a requested kind', async () => {
      api = await fakeMarketplace();
      const error = await expectCliError(dataPull(pullArgs({ kind: ['resolution'] }), io()), ExitCode.NOT_FOUND);
      assert.equal(error.message, 'round 1 has no resolution file');
    });

    it('exits 4 with "no round is open right now" for --round current without an open round', async () => {
      api = await fakeMarketplace({ current: false });
      const error = await expectCliError(dataPull(pullArgs(), io()), ExitCode.NOT_FOUND);
      assert.equal(error.message, 'no round is open right now');
    });

    it('uses DataRoundDownloads for --round N, and an unknown round exits 4', async () => {
      api = await fakeMarketplace();
      await expectCliError(dataPull(pullArgs({ round: 7 }), io()), ExitCode.NOT_FOUND);
      assert.deepEqual(api.seen[0].variables, { number: 7, expiresInSeconds: 3600 });
      assert.equal(api.seen[0].operationName, 'DataRoundDownloads');
    });

    it('exits 130 when interrupted (as by Ctrl-C) and leaves no listener behind', async () => {
      api = await fakeMarketplace();
      const controller = new AbortController();
      controller.abort();
      const before = process.listenerCount('SIGINT');
      await expectCliError(dataPull(pullArgs(), io(), { signal: controller.signal }), ExitCode.INTERRUPTED);
      assert.equal(process.listenerCount('SIGINT'), before);
      assert.equal(fs.existsSync(path.join(work, 'data', 'train.csv')), false);
    });
  });

  describe('mp data pull as a process', () => {
    it('stops on SIGINT (Ctrl-C) with exit 130, keeps the .part for resuming and leaves no final file', async function () {
      this.timeout(30_000);
      let stalled!: () => void;
      const halfSent = new Promise<void>((resolve) => (stalled = resolve));
      api = await fakeMarketplace({ stallAfterHalf: () => stalled() });
      const dir = path.join(work, 'data');
      const child = spawn(
        process.execPath,
        ['--require', 'tsx/cjs', path.resolve(__dirname, '..', '..', 'cli', 'main.ts'), 'data', 'pull', '--dir', dir, '--api-url', api.graphqlUrl],
        { env: { ...process.env, MP_API_KEY: KEY, XDG_CONFIG_HOME: path.join(work, 'config') }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdoutText = '';
      let stderrText = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdoutText += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderrText += chunk));
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      await halfSent;
      await new Promise((resolve) => setTimeout(resolve, 300));
      child.kill('SIGINT');
      const code = await exited;
      assert.equal(code, 130, stderrText);
      assert.match(stderrText, /mp: interrupted: kept .*train\.csv\.part \([\d.]+ kB of [\d.]+ kB\); run the same command again to resume/);
      assert.equal(stdoutText, '', 'no summary after an interrupted pull');
      assert.equal(fs.existsSync(path.join(dir, 'train.csv')), false);
      const kept = fs.readFileSync(path.join(dir, 'train.csv.part'), 'utf8');
      assert.ok(kept.length > 0 && CONTENTS['train.csv'].startsWith(kept), 'the .part is a prefix of the file');
      assert.equal(fs.existsSync(path.join(dir, 'round.json')), false);
    });
  });

  describe('flags', () => {
    it('parses --round as a number or "current" and --kind as a comma-separated list', () => {
      assert.equal(parseRound('current'), 'current');
      assert.equal(parseRound('CURRENT'), 'current');
      assert.equal(parseRound('12'), 12);
      assert.throws(() => parseRound('0'), /invalid --round "0"/);
      assert.throws(() => parseRound('1.5'), /invalid --round/);
      assert.throws(() => parseRound('abc'), /invalid --round "abc"/);
      assert.deepEqual(parseKinds('train,live'), ['train', 'live']);
      assert.deepEqual(parseKinds(['train', 'validation,train']), ['train', 'validation']);
      assert.throws(() => parseKinds('test'), /invalid --kind "test"/);
    });

    for (const command of [['data'], ['data', 'list'], ['data', 'info'], ['data', 'pull']]) {
      it(`\`mp ${command.join(' ')} --help\` shows usage with examples`, async () => {
        const output = await new Promise<string>((resolve) => {
          void buildCli([...command, '--help']).parse([...command, '--help'], {}, (_error, _args, text) => resolve(text));
        });
        assert.match(output, new RegExp(`^mp ${command.join(' ')}`));
        assert.match(output, /Examples:\n\s+mp data/);
      });
    }

    it('defaults --round to current and --dir to ./data, and a bad --round or --kind is a usage error', async () => {
      const help = await new Promise<string>((resolve) => {
        void buildCli(['data', 'pull', '--help']).parse(['data', 'pull', '--help'], {}, (_error, _args, text) => resolve(text));
      });
      assert.match(help, /--round[\s\S]*\[default: "current"\]/);
      assert.match(help, /--dir[\s\S]*\[default: "\.\/data"\]/);
      for (const argv of [
        ['data', 'info', '--round', 'x'],
        ['data', 'pull', '--kind', 'test'],
      ]) {
        await assert.rejects(
          async () => buildCli(argv).parseAsync(),
          (error: unknown) => error instanceof CliError && error.exitCode === ExitCode.USAGE,
        );
      }
    });
  });
});
