import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildRound, parsePricesCsv } from '../../server/modules/datasets/round-builder';
import { sp500CsvPath } from '../../server/modules/datasets/sample-data';
import { readCsvRecords, readRoundTable } from '../../cli/templates/runpod-signal-train/src/data';
import { pearson, percentileRanks, spearman } from '../../cli/templates/runpod-signal-train/src/metrics';
import { fitRidgeClosedForm, predict, trainGradientDescent } from '../../cli/templates/runpod-signal-train/src/model';
import {
  type HandlerOutput,
  type JobFile,
  type RunpodJob,
  type StreamOutput,
  handler,
  startWorker,
} from '../../cli/templates/runpod-signal-train/src/runpod-handler';

const ROOT = path.resolve(__dirname, '..', '..');
const TEMPLATE = path.join(ROOT, 'cli', 'templates', 'runpod-signal-train');
const TRAIN_TS = path.join(TEMPLATE, 'src', 'train.ts');
const HANDLER_TS = path.join(TEMPLATE, 'src', 'runpod-handler.ts');
const TSX = require.resolve('tsx/cjs');

interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a template program as the local provider does: a child process with only the MP_* variables it needs. */
function runProgram(script: string, env: NodeJS.ProcessEnv, args: string[] = [], cwd = os.tmpdir()): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
    const child = spawn(process.execPath, ['--require', TSX, script, ...args], { cwd, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Seeded uniform numbers, so the synthetic round is the same on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

const FEATURES = ['momentum', 'reversal', 'noise_a', 'noise_b', 'noise_c'];

/**
 * A small round in the real files' shape: 10 symbols a day, features in 0..1, and a target that
 * is a noisy function of two features (up with `momentum`, down with `reversal`), bucketed into
 * 0, 0.25, 0.5, 0.75, 1. Train 40 days, validation 20, live 5.
 */
function writeSyntheticRound(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const next = random(7);
  const header = ['symbol', 'date', ...FEATURES];
  const row = (day: number, symbol: number, labeled: boolean): string => {
    const values = FEATURES.map(() => Math.round(next() * 10_000) / 10_000);
    const signal = 0.7 * values[0] - 0.5 * values[1] + 0.35 * (next() - 0.5) + 0.5 * (next() - 0.5);
    const target = Math.min(4, Math.max(0, Math.floor((signal + 0.6) / 0.3))) / 4;
    const date = new Date(Date.UTC(2021, 0, 1 + day)).toISOString().slice(0, 10);
    return [`S${String(symbol).padStart(2, '0')}`, date, ...values.map(String), ...(labeled ? [String(target)] : [])].join(',');
  };
  const file = (name: string, firstDay: number, days: number, labeled: boolean) => {
    const lines = [[...header, ...(labeled ? ['target'] : [])].join(',')];
    for (let day = firstDay; day < firstDay + days; day++) for (let s = 0; s < 10; s++) lines.push(row(day, s, labeled));
    fs.writeFileSync(path.join(dir, name), `${lines.join('\n')}\n`);
  };
  file('train.csv', 0, 40, true);
  file('validation.csv', 45, 20, true);
  file('live.csv', 70, 5, false);
}

interface MetricLine {
  mp: 'metric';
  name: string;
  step: number;
  value: number;
}

function metricLines(stdout: string): MetricLine[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as MetricLine)
    .filter((line) => line.mp === 'metric');
}

function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

interface ModelJson {
  format: string;
  featureNames: string[];
  weights: number[];
  bias: number;
  round: number | null;
  runId: string | null;
  hyperparameters: Record<string, unknown>;
  trainedAt: string;
}

interface MetricsJson {
  loss: number;
  val_corr: number;
  baseline_val_corr: number;
  epochs: number;
  rows: { train: number; validation: number; live: number };
}

describe('runpod-signal-train template: src/train.ts as a process', function () {
  this.timeout(60_000);
  let work: string;
  let data: string;
  let out: string;

  beforeEach(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-template-train-'));
    data = path.join(work, 'data');
    out = path.join(work, 'out');
    writeSyntheticRound(data);
  });
  afterEach(() => {
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('trains on a synthetic round, reports loss and val_corr for every epoch, and writes a sane model, metrics and live predictions', async () => {
    fs.writeFileSync(path.join(data, 'round.json'), JSON.stringify({ round: 7 }));
    const result = await runProgram(TRAIN_TS, {
      MP_DATA_DIR: data,
      MP_OUTPUT_DIR: out,
      MP_HPARAMS: JSON.stringify({ epochs: 8, lr: 0.05 }),
      MP_RUN_ID: 'run_test_1',
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');

    const metrics = metricLines(result.stdout);
    for (const name of ['loss', 'val_corr']) {
      const points = metrics.filter((metric) => metric.name === name);
      assert.deepEqual(
        points.map((point) => point.step),
        [1, 2, 3, 4, 5, 6, 7, 8],
        `${name} steps`,
      );
      for (const point of points) assert.ok(Number.isFinite(point.value), `${name} step ${point.step} is ${point.value}`);
    }
    assert.equal(metrics.filter((metric) => metric.name === 'baseline_val_corr').length, 1);
    assert.match(result.stdout, /^baseline \(closed-form ridge, l2=0\.001\): val_corr=0\.\d{4}$/m);
    for (let epoch = 1; epoch <= 8; epoch++) {
      assert.match(result.stdout, new RegExp(`^epoch ${epoch}/8 loss=\\d\\.\\d{4} val_corr=-?\\d\\.\\d{4}$`, 'm'));
    }
    const losses = metrics.filter((metric) => metric.name === 'loss').map((metric) => metric.value);
    assert.ok(losses[losses.length - 1] < 0.125, `the final training MSE ${losses[losses.length - 1]} is no better than predicting the mean`);

    const model = readJson<ModelJson>(path.join(out, 'model.json'));
    assert.equal(model.format, 'mp-linear-v1');
    assert.deepEqual(model.featureNames, FEATURES);
    assert.equal(model.weights.length, FEATURES.length);
    assert.ok(model.weights.every(Number.isFinite) && Number.isFinite(model.bias));
    assert.ok(model.weights[0] > 0.2, `momentum weight ${model.weights[0]} should be clearly positive`);
    assert.ok(model.weights[1] < -0.1, `reversal weight ${model.weights[1]} should be clearly negative`);
    assert.equal(model.round, 7);
    assert.equal(model.runId, 'run_test_1');
    assert.deepEqual(model.hyperparameters, { lr: 0.05, epochs: 8, l2: 0.001, batch_size: 64, seed: 42 });
    assert.ok(!Number.isNaN(Date.parse(model.trainedAt)));

    const summary = readJson<MetricsJson>(path.join(out, 'metrics.json'));
    assert.deepEqual(summary.rows, { train: 400, validation: 200, live: 50 });
    assert.equal(summary.epochs, 8);
    assert.equal(summary.loss, losses[losses.length - 1]);
    assert.ok(summary.val_corr > 0.1, `val_corr ${summary.val_corr}`);
    assert.ok(summary.baseline_val_corr > 0.1, `baseline val_corr ${summary.baseline_val_corr}`);
    console.log(`      synthetic round: val_corr=${summary.val_corr.toFixed(4)} baseline=${summary.baseline_val_corr.toFixed(4)}`);

    const predictions = fs.readFileSync(path.join(out, 'live_predictions.csv'), 'utf8').trimEnd().split('\n');
    assert.equal(predictions[0], 'symbol,date,prediction');
    const liveIds = fs
      .readFileSync(path.join(data, 'live.csv'), 'utf8')
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((line) => line.split(',').slice(0, 2).join(','));
    const rows = predictions.slice(1).map((line) => line.split(','));
    assert.deepEqual(
      rows.map((cells) => `${cells[0]},${cells[1]}`),
      liveIds,
    );
    const values = rows.map((cells) => Number(cells[2]));
    assert.ok(
      values.every((value) => value >= 0 && value <= 1),
      'predictions are outside 0..1',
    );
    assert.equal(Math.min(...values), 0);
    assert.equal(Math.max(...values), 1);
    assert.deepEqual(fs.readdirSync(out).sort(), ['live_predictions.csv', 'metrics.json', 'model.json']);
  });

  it('gives the same weights for the same seed and different ones for another seed', async () => {
    const train = async (seed: number, dir: string) => {
      const env = { MP_DATA_DIR: data, MP_OUTPUT_DIR: dir, MP_HPARAMS: JSON.stringify({ epochs: 3, seed }), MP_ROUND: '5' };
      const result = await runProgram(TRAIN_TS, env);
      assert.equal(result.code, 0, result.stderr);
      const model = readJson<ModelJson>(path.join(dir, 'model.json'));
      assert.equal(model.round, 5, 'MP_ROUND is recorded');
      return model.weights;
    };
    const first = await train(1, path.join(work, 'a'));
    const again = await train(1, path.join(work, 'b'));
    const other = await train(2, path.join(work, 'c'));
    assert.deepEqual(again, first);
    assert.notDeepEqual(other, first);
  });

  it('exits 2 on an unknown hyperparameter, naming it and what the program accepts, before reading any data', async () => {
    fs.rmSync(path.join(data, 'train.csv'));
    const result = await runProgram(TRAIN_TS, { MP_DATA_DIR: data, MP_OUTPUT_DIR: out, MP_HPARAMS: '{"momentum": 0.9}' });
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /^train: error: unknown hyperparameter "momentum" in MP_HPARAMS; this program accepts: lr \(a number from 0 to 1, default 0\.01\), epochs/,
    );
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace for bad input');
    assert.ok(!fs.existsSync(out), 'nothing was written');
  });

  it('exits 2 when a hyperparameter has the wrong type or range, saying what it accepts', async () => {
    const wrongType = await runProgram(TRAIN_TS, { MP_DATA_DIR: data, MP_OUTPUT_DIR: out, MP_HPARAMS: '{"epochs": "ten"}' });
    assert.equal(wrongType.code, 2);
    assert.match(wrongType.stderr, /hyperparameter "epochs" is "ten", which is not an integer from 1 to 1000/);

    const fraction = await runProgram(TRAIN_TS, { MP_DATA_DIR: data, MP_OUTPUT_DIR: out, MP_HPARAMS: '{"batch_size": 1.5}' });
    assert.equal(fraction.code, 2);
    assert.match(fraction.stderr, /hyperparameter "batch_size" is 1\.5, which is not an integer from 1 to 65536/);

    const tooBig = await runProgram(TRAIN_TS, { MP_DATA_DIR: data, MP_OUTPUT_DIR: out, MP_HPARAMS: '{"lr": 5}' });
    assert.equal(tooBig.code, 2);
    assert.match(tooBig.stderr, /hyperparameter "lr" is 5, which is above the maximum; use a number from 0 to 1/);

    const notJson = await runProgram(TRAIN_TS, { MP_DATA_DIR: data, MP_OUTPUT_DIR: out, MP_HPARAMS: 'lr=0.1' });
    assert.equal(notJson.code, 2);
    assert.match(notJson.stderr, /MP_HPARAMS is not valid JSON/);
  });

  it('exits 1 with a clear message when train.csv is missing', async () => {
    fs.rmSync(path.join(data, 'train.csv'));
    const result = await runProgram(TRAIN_TS, { MP_DATA_DIR: data, MP_OUTPUT_DIR: out });
    assert.equal(result.code, 1);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`^train: error: train\\.csv not found in ${data.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: run \`mp data pull`));
    assert.ok(!fs.existsSync(path.join(out, 'model.json')));
  });

  it('exits 1 naming the file and line of a malformed value, and on a file without rows', async () => {
    const lines = fs.readFileSync(path.join(data, 'validation.csv'), 'utf8').split('\n');
    const cells = lines[3].split(',');
    cells[2] = 'abc'; // the momentum feature of the third row
    lines[3] = cells.join(',');
    fs.writeFileSync(path.join(data, 'validation.csv'), lines.join('\n'));
    const malformed = await runProgram(TRAIN_TS, { MP_DATA_DIR: data, MP_OUTPUT_DIR: out });
    assert.equal(malformed.code, 1);
    assert.equal(malformed.stderr, 'train: error: validation.csv line 4: "momentum" is "abc", not a number\n');

    writeSyntheticRound(data);
    fs.writeFileSync(path.join(data, 'live.csv'), `symbol,date,${FEATURES.join(',')}\n`);
    const empty = await runProgram(TRAIN_TS, { MP_DATA_DIR: data, MP_OUTPUT_DIR: out });
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /^train: error: live\.csv has a header but no rows$/m);

    fs.writeFileSync(path.join(data, 'live.csv'), `symbol,date,momentum\nS01,2021-03-01,0.5\n`);
    const missingFeature = await runProgram(TRAIN_TS, { MP_DATA_DIR: data, MP_OUTPUT_DIR: out });
    assert.equal(missingFeature.code, 1);
    assert.match(missingFeature.stderr, /live\.csv lacks feature columns reversal, noise_a, noise_b, noise_c that train\.csv has/);
  });

  it('trains on the real round 1 (S&P 500 2000-2020, horizon 5) and writes predictions for its 20 live rows', async () => {
    const round = buildRound(parsePricesCsv(fs.readFileSync(sp500CsvPath(), 'utf8'), { symbol: 'SPX' }), { horizonDays: 5 });
    const real = path.join(work, 'round1');
    fs.mkdirSync(real);
    for (const file of round.files) fs.writeFileSync(path.join(real, file.name), file.content);
    const result = await runProgram(TRAIN_TS, { MP_DATA_DIR: real, MP_OUTPUT_DIR: out });
    assert.equal(result.code, 0, result.stderr);
    const metrics = metricLines(result.stdout);
    assert.equal(metrics.filter((metric) => metric.name === 'val_corr').length, 20);
    const summary = readJson<MetricsJson>(path.join(out, 'metrics.json'));
    assert.deepEqual(summary.rows, { train: round.files[0].rowCount, validation: round.files[1].rowCount, live: round.files[2].rowCount });
    assert.ok(Math.abs(summary.val_corr) < 1 && Math.abs(summary.baseline_val_corr) < 1);
    assert.equal(readJson<ModelJson>(path.join(out, 'model.json')).featureNames.length, 13);
    assert.equal(fs.readFileSync(path.join(out, 'live_predictions.csv'), 'utf8').trimEnd().split('\n').length, 21);
    console.log(`      real round 1: val_corr=${summary.val_corr.toFixed(4)} baseline=${summary.baseline_val_corr.toFixed(4)} (defaults)`);
  });
});

describe('runpod-signal-train template: its parts', () => {
  let work: string;
  beforeEach(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-template-parts-'));
  });
  afterEach(() => {
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('reads CSV records across chunk boundaries, with quoted commas, quoted line breaks, CRLF and a byte-order mark', async () => {
    const file = path.join(work, 'quoted.csv');
    const filler = 'x'.repeat(70_000); // the first record spans two 64 KiB chunks
    fs.writeFileSync(file, `\uFEFFa,b,c\r\n${filler},"1,5","say ""hi""\r\nbye"\r\n\r\nlast,2,3`);
    const records: { line: number; fields: string[] }[] = [];
    for await (const record of readCsvRecords(file)) records.push(record);
    assert.deepEqual(records, [
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: [filler, '1,5', 'say "hi"\nbye'] }, // a quoted CRLF is read as \n
      { line: 5, fields: ['last', '2', '3'] },
    ]);
  });

  it('reads a round file into typed arrays, matching features by name whatever their column order', async () => {
    const file = path.join(work, 'validation.csv');
    fs.writeFileSync(file, 'b,symbol,a,date,target\n0.25,S1,0.5,2021-01-01,1\n0.75,S2,1,2021-01-01,0\n');
    const table = await readRoundTable(file, { requireTarget: true, keepIds: false, featureNames: ['a', 'b'] });
    assert.equal(table.rows, 2);
    assert.deepEqual([...table.features], [0.5, 0.25, 1, 0.75]);
    assert.deepEqual([...(table.target ?? [])], [1, 0]);
  });

  it('computes Spearman correlation with tied ranks averaged, and 0 for a constant input', () => {
    assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
    assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
    // ranks of [0, 0, 1, 1] are [0.5, 0.5, 2.5, 2.5]; Pearson with [0, 1, 2, 3] is 0.894427...
    assert.ok(Math.abs(spearman([0, 0, 1, 1], [5, 6, 7, 8]) - 0.8944271909999159) < 1e-12);
    assert.equal(pearson([1, 1, 1], [1, 2, 3]), 0);
    assert.deepEqual([...percentileRanks([3, 1, 2, 2])], [1, 0, 0.5, 0.5]);
    assert.deepEqual([...percentileRanks([42])], [0.5]);
  });

  it('solves ridge regression in closed form, and gradient descent converges to the same weights', async () => {
    // Noiseless y = 0.2 + 0.5 a - 0.3 b: with a negligible penalty the closed form recovers it exactly.
    const next = random(3);
    const rows = 300;
    const features = new Float32Array(rows * 2);
    const target = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      features[r * 2] = next();
      features[r * 2 + 1] = next();
      target[r] = 0.2 + 0.5 * features[r * 2] - 0.3 * features[r * 2 + 1];
    }
    const table = { name: 'train.csv', featureNames: ['a', 'b'], rows, features, target, symbols: null, dates: null };
    const exact = fitRidgeClosedForm(table, 0);
    assert.ok(Math.abs(exact.weights[0] - 0.5) < 1e-4 && Math.abs(exact.weights[1] + 0.3) < 1e-4, `${exact.weights}`);
    assert.ok(Math.abs(exact.bias - 0.2) < 1e-4, `${exact.bias}`);

    let epochs = 0;
    const descended = await trainGradientDescent(table, { lr: 0.05, epochs: 60, l2: 0, batch_size: 16, seed: 1 }, () => {
      epochs += 1;
    });
    assert.equal(epochs, 60);
    assert.ok(Math.abs(descended.weights[0] - 0.5) < 1e-3 && Math.abs(descended.weights[1] + 0.3) < 1e-3, `${descended.weights}`);
    const predictions = predict(descended, table);
    assert.ok(Math.abs(predictions[0] - target[0]) < 1e-3);
  });
});

interface Upload {
  name: string;
  sha256: string;
  body: Buffer;
}

/**
 * Serves a round's files (as the marketplace's signed-URL route would) and takes artifact PUTs
 * under /artifacts/<run>/, answering 201 `{ name, sizeBytes, sha256, blobKey }` as the
 * marketplace's upload route does (`corruptUploads` makes it report another checksum).
 */
async function roundServer(dir: string) {
  const uploads: Upload[] = [];
  const state = { corruptUploads: false };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname.startsWith('/files/')) {
      const file = path.join(dir, path.basename(url.pathname));
      if (url.searchParams.get('sig') !== 'ok' || !fs.existsSync(file)) {
        res.writeHead(403).end('forbidden');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/csv' });
      fs.createReadStream(file).pipe(res);
      return;
    }
    if (req.method === 'PUT' && url.pathname.startsWith('/artifacts/run_1/')) {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const name = decodeURIComponent(path.basename(url.pathname));
        uploads.push({ name, sha256: String(req.headers['x-content-sha256']), body });
        const sha256 = state.corruptUploads ? 'f'.repeat(64) : createHash('sha256').update(body).digest('hex');
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ name, sizeBytes: body.length, sha256, blobKey: `runs/run_1/${name}` }));
      });
      return;
    }
    res.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const files = (['train.csv', 'validation.csv', 'live.csv'] as const).map((name): JobFile => {
    const content = fs.readFileSync(path.join(dir, name));
    return {
      name,
      kind: name === 'train.csv' ? 'TRAIN' : name === 'validation.csv' ? 'VALIDATION' : 'LIVE',
      sha256: createHash('sha256').update(content).digest('hex'),
      sizeBytes: content.length,
      url: `${base}/files/${name}?sig=ok`,
    };
  });
  return {
    base,
    files,
    uploads,
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function drain(job: RunpodJob): Promise<{ partials: StreamOutput[]; output: HandlerOutput }> {
  const partials: StreamOutput[] = [];
  const generator = handler(job);
  for (;;) {
    const step = await generator.next();
    if (step.done) return { partials, output: step.value };
    partials.push(step.value);
  }
}

describe('runpod-signal-train template: the RunPod handler', function () {
  this.timeout(60_000);
  let work: string;
  let server: Awaited<ReturnType<typeof roundServer>>;

  beforeEach(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-template-handler-'));
    writeSyntheticRound(work);
    server = await roundServer(work);
  });
  afterEach(async () => {
    await server.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const input = () => ({
    runId: 'run_1',
    task: 'SIGNAL',
    round: 3,
    files: server.files,
    hyperparameters: { epochs: 4, lr: 0.05 },
    artifactUploadUrl: `${server.base}/artifacts/run_1`,
  });

  it('downloads the verified files, streams lines and metric objects per epoch, uploads every artifact and returns them', async () => {
    const { partials, output } = await drain({ id: 'job-1', input: input() });
    const metrics = partials.filter((partial): partial is Extract<StreamOutput, { mp: 'metric' }> => 'mp' in partial);
    assert.deepEqual(
      metrics.filter((metric) => metric.name === 'val_corr').map((metric) => metric.step),
      [1, 2, 3, 4],
    );
    assert.equal(metrics.filter((metric) => metric.name === 'loss').length, 4);
    const lines = partials.filter((partial): partial is Extract<StreamOutput, { line: string }> => 'line' in partial);
    assert.ok(lines.every((line) => line.stream === 'stdout'));
    assert.ok(lines.some((line) => /^downloaded train\.csv \(\d+ bytes, sha256 verified\)$/.test(line.line)));
    assert.ok(lines.some((line) => line.line.startsWith('epoch 4/4 loss=')));
    assert.ok(!lines.some((line) => line.line.includes('sig=ok')), 'a signed URL was logged');

    assert.deepEqual(
      output.artifacts.map((artifact) => artifact.name),
      ['live_predictions.csv', 'metrics.json', 'model.json'],
    );
    assert.deepEqual(server.uploads.map((upload) => upload.name).sort(), ['live_predictions.csv', 'metrics.json', 'model.json']);
    assert.deepEqual(partials[partials.length - 1], { artifacts: output.artifacts }, 'the artifacts are also the last streamed output');
    for (const artifact of output.artifacts) {
      assert.equal(artifact.blobKey, `runs/run_1/${artifact.name}`);
      const upload = server.uploads.find((candidate) => candidate.name === artifact.name);
      assert.ok(upload);
      assert.equal(createHash('sha256').update(upload.body).digest('hex'), artifact.sha256);
      assert.equal(upload.sha256, artifact.sha256);
      assert.equal(upload.body.length, artifact.sizeBytes);
    }
    const model = JSON.parse(server.uploads.find((upload) => upload.name === 'model.json')?.body.toString() ?? '{}') as ModelJson;
    assert.equal(model.round, 3);
    assert.equal(model.runId, 'run_1');
    const summary = JSON.parse(server.uploads.find((upload) => upload.name === 'metrics.json')?.body.toString() ?? '{}') as MetricsJson;
    assert.ok(summary.val_corr > 0.1, `val_corr ${summary.val_corr}`);
  });

  it('fails the job when a file does not match its sha256, and uploads nothing', async () => {
    const files = server.files.map((file) => (file.kind === 'VALIDATION' ? { ...file, sha256: '0'.repeat(64) } : file));
    await assert.rejects(drain({ id: 'job-2', input: { ...input(), files } }), /validation\.csv is corrupt: got \d+ bytes with sha256 [0-9a-f]{64}, expected/);
    assert.equal(server.uploads.length, 0);
  });

  it('fails the job when the upload server reports another checksum than the one sent', async () => {
    server.state.corruptUploads = true;
    await assert.rejects(drain({ id: 'job-6', input: input() }), /uploading live_predictions\.csv: the server stored sha256 f{64}, but [0-9a-f]{64} was sent/);
  });

  it('fails the job on an unknown hyperparameter or a bad input, naming it', async () => {
    await assert.rejects(
      drain({ id: 'job-3', input: { ...input(), hyperparameters: { depth: 3 } } }),
      /unknown hyperparameter "depth" in input\.hyperparameters/,
    );
    await assert.rejects(drain({ id: 'job-4', input: { ...input(), files: server.files.slice(0, 2) } }), /input\.files must hold exactly one LIVE file/);
    await assert.rejects(drain({ id: 'job-5', input: { ...input(), artifactUploadUrl: 'ftp://x' } }), /input\.artifactUploadUrl must be an http\(s\) URL/);
  });

  it('runs as a RunPod worker: takes a job, posts each partial output to the stream URL and the result to the output URL', async () => {
    const streamed: unknown[] = [];
    const results: unknown[] = [];
    let handedOut = false;
    let authorization: string | undefined;
    const controller = new AbortController();
    const runpod = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      authorization = req.headers.authorization;
      if (req.method === 'GET' && url.pathname === '/job-take/worker-1') {
        if (handedOut) {
          res.writeHead(204).end();
          return;
        }
        handedOut = true;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'job-9', input: input() }));
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as unknown;
        if (url.pathname === '/job-stream/worker-1/job-9') streamed.push(body);
        else if (url.pathname === '/job-done/worker-1/job-9') {
          results.push(body);
          controller.abort();
        }
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => runpod.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(runpod.address() as AddressInfo).port}`;
    try {
      const printed: string[] = [];
      const code = await startWorker(handler, {
        env: {
          RUNPOD_WEBHOOK_GET_JOB: `${base}/job-take/$ID`,
          RUNPOD_WEBHOOK_POST_STREAM: `${base}/job-stream/$RUNPOD_POD_ID/$ID`,
          RUNPOD_WEBHOOK_POST_OUTPUT: `${base}/job-done/$RUNPOD_POD_ID/$ID`,
          RUNPOD_POD_ID: 'worker-1',
          RUNPOD_AI_API_KEY: 'worker-key',
        },
        signal: controller.signal,
        print: (line) => printed.push(line),
      });
      assert.equal(code, 0);
      assert.equal(authorization, 'worker-key');
      assert.equal(results.length, 1);
      const result = results[0] as { output?: HandlerOutput };
      assert.deepEqual(
        result.output?.artifacts.map((artifact) => artifact.name),
        ['live_predictions.csv', 'metrics.json', 'model.json'],
      );
      const outputs = streamed.map((item) => (item as { output: StreamOutput }).output);
      assert.equal(outputs.filter((item) => 'mp' in item && item.name === 'val_corr').length, 4);
      assert.ok(outputs.some((item) => 'line' in item && item.line.startsWith('epoch 1/4')));
      assert.ok(printed.includes('job job-9: completed'), printed.join('\n'));
    } finally {
      await new Promise<void>((resolve) => runpod.close(() => resolve()));
    }
  });

  it('runs one job from --test_input outside RunPod and prints the partial outputs and the result as JSON lines', async () => {
    const result = await runProgram(HANDLER_TS, {}, ['--test_input', JSON.stringify({ input: input() })], work);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    const lines = result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.ok(lines.some((line) => line.mp === 'metric' && line.name === 'val_corr' && line.step === 4));
    const last = lines[lines.length - 1] as { output?: HandlerOutput };
    assert.equal(last.output?.artifacts.length, 3);
    assert.equal(server.uploads.length, 3);

    const failed = await runProgram(HANDLER_TS, {}, ['--test_input', JSON.stringify({ input: { ...input(), hyperparameters: { lr: 'fast' } } })], work);
    assert.equal(failed.code, 1);
    assert.match(failed.stdout, /"error":"hyperparameter \\"lr\\" is \\"fast\\", which is not a number from 0 to 1"/);
  });
});
