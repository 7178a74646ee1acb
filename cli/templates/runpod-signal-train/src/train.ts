/**
 * Trains a SIGNAL model on a dataset round and writes it, its metrics and its live predictions.
 *
 * Environment (the marketplace's local provider sets all of them; for BYOC the defaults work
 * after `mp data pull --dir ./data`):
 *   MP_DATA_DIR    directory with train.csv, validation.csv and live.csv    (default ./data)
 *   MP_OUTPUT_DIR  where model.json, metrics.json, live_predictions.csv go  (default ./out)
 *   MP_HPARAMS     JSON object of hyperparameters, e.g. {"lr":0.01,"epochs":20} (see package.json)
 *   MP_RUN_ID      the marketplace's run id, recorded in model.json          (optional)
 *   MP_ROUND       the round number, recorded in model.json (default: from round.json in MP_DATA_DIR)
 *
 * Output: after every epoch one metric line per metric, which the marketplace stores as metric
 * points, then a line for humans:
 *   {"mp":"metric","name":"loss","step":3,"value":0.1187}
 *   {"mp":"metric","name":"val_corr","step":3,"value":0.0213}
 *   epoch 3/20 loss=0.1187 val_corr=0.0213
 *
 * Exit codes: 0 trained; 1 the data or the training failed; 2 bad configuration (an unknown
 * hyperparameter, a value of the wrong type, bad JSON in MP_HPARAMS). Messages go to stderr.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { finished } from 'node:stream/promises';
import { type RoundTable, DataError, csvField, readRoundNumber, readRoundTable } from './data';
import { ConfigError, type HyperparameterValue, hyperparametersFromEnv, loadDeclarations, trainingHyperparameters } from './hparams';
import { meanSquaredError, metricLine, percentileRanks, spearman } from './metrics';
import { type LinearModel, TrainingError, fitRidgeClosedForm, predict, trainGradientDescent } from './model';

export const FILES = { train: 'train.csv', validation: 'validation.csv', live: 'live.csv' } as const;
export const ARTIFACTS = { model: 'model.json', metrics: 'metrics.json', predictions: 'live_predictions.csv' } as const;

export interface TrainOptions {
  dataDir: string;
  outputDir: string;
  /** Resolved values (defaults filled in), see hparams.ts. */
  hyperparameters: Record<string, HyperparameterValue>;
  runId?: string | null;
  /** The round number, for model.json; default: read from round.json in dataDir, if there is one. */
  round?: number | null;
}

/** Where progress goes: stdout lines for a process, stream items for the RunPod handler. */
export interface TrainSink {
  log(line: string): void;
  metric(name: string, step: number, value: number): void;
}

export interface MetricsFile {
  loss: number;
  val_corr: number;
  baseline_val_corr: number;
  epochs: number;
  rows: { train: number; validation: number; live: number };
  features: number;
}

export interface ModelFile extends LinearModel {
  format: 'mp-linear-v1';
  task: 'SIGNAL';
  /** How to use it: the raw prediction, then rank-transform across the rows being scored. */
  prediction: string;
  round: number | null;
  runId: string | null;
  hyperparameters: Record<string, HyperparameterValue>;
  trainedAt: string;
}

export interface TrainResult {
  metrics: MetricsFile;
  /** Absolute paths of the files written to outputDir. */
  artifacts: string[];
}

function fixed(value: number): string {
  return value.toFixed(4);
}

/** The whole training run. Throws DataError (bad or missing files), ConfigError or Error. */
export async function runTraining(options: TrainOptions, sink: TrainSink): Promise<TrainResult> {
  const hp = trainingHyperparameters(options.hyperparameters);
  const round = options.round !== undefined ? options.round : readRoundNumber(options.dataDir);
  const file = (name: string) => path.join(options.dataDir, name);
  sink.log(`run ${options.runId ?? '(local)'}: round ${round ?? 'unknown'}, data in ${options.dataDir}`);
  sink.log(
    `hyperparameters: ${Object.entries(options.hyperparameters)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );

  // Read (and check) every file before spending time on training.
  const train = await readRoundTable(file(FILES.train), { requireTarget: true, keepIds: false });
  sink.log(`${FILES.train}: ${train.rows} rows, ${train.featureNames.length} features`);
  const sameFeatures = { featureNames: train.featureNames };
  const validation = await readRoundTable(file(FILES.validation), { requireTarget: true, keepIds: false, ...sameFeatures });
  sink.log(`${FILES.validation}: ${validation.rows} rows`);
  const live = await readRoundTable(file(FILES.live), { requireTarget: false, keepIds: true, ...sameFeatures });
  sink.log(`${FILES.live}: ${live.rows} rows`);
  const validationTarget = targetsOf(validation);

  const baseline = fitRidgeClosedForm(train, hp.l2);
  const baselineCorr = spearman(predict(baseline, validation), validationTarget);
  sink.metric('baseline_val_corr', 0, baselineCorr);
  sink.log(`baseline (closed-form ridge, l2=${hp.l2}): val_corr=${fixed(baselineCorr)}`);

  let loss = Number.NaN;
  let valCorr = Number.NaN;
  const model = await trainGradientDescent(train, hp, async ({ epoch, model: current }) => {
    loss = meanSquaredError(predict(current, train), targetsOf(train));
    valCorr = spearman(predict(current, validation), validationTarget);
    sink.metric('loss', epoch, loss);
    sink.metric('val_corr', epoch, valCorr);
    sink.log(`epoch ${epoch}/${hp.epochs} loss=${fixed(loss)} val_corr=${fixed(valCorr)}`);
    // Let queued output (the RunPod handler's stream) go out between epochs.
    await new Promise<void>((resolve) => setImmediate(resolve));
  });

  const metrics: MetricsFile = {
    loss,
    val_corr: valCorr,
    baseline_val_corr: baselineCorr,
    epochs: hp.epochs,
    rows: { train: train.rows, validation: validation.rows, live: live.rows },
    features: train.featureNames.length,
  };
  const modelFile: ModelFile = {
    format: 'mp-linear-v1',
    task: 'SIGNAL',
    prediction: 'bias + sum(weights[i] * features[featureNames[i]]), then rank-transformed to 0..1 across the rows scored',
    ...model,
    round,
    runId: options.runId ?? null,
    hyperparameters: options.hyperparameters,
    trainedAt: new Date().toISOString(),
  };

  await fs.promises.mkdir(options.outputDir, { recursive: true });
  const out = (name: string) => path.join(options.outputDir, name);
  await writeFileAtomic(out(ARTIFACTS.model), `${JSON.stringify(modelFile, null, 2)}\n`);
  await writeFileAtomic(out(ARTIFACTS.metrics), `${JSON.stringify(metrics, null, 2)}\n`);
  await writeLivePredictions(out(ARTIFACTS.predictions), live, predict(model, live));
  sink.log(
    `done: loss=${fixed(loss)} val_corr=${fixed(valCorr)} (baseline ${fixed(baselineCorr)}); ` +
      `wrote ${Object.values(ARTIFACTS).join(', ')} to ${options.outputDir}`,
  );
  return { metrics, artifacts: Object.values(ARTIFACTS).map(out) };
}

function targetsOf(table: RoundTable): Float32Array {
  if (!table.target) throw new DataError(`${table.name} has no targets`);
  return table.target;
}

/** Written beside the final name, then renamed: a reader never sees half a file. */
async function writeFileAtomic(file: string, content: string): Promise<void> {
  const temporary = `${file}.tmp-${process.pid}`;
  await fs.promises.writeFile(temporary, content);
  await fs.promises.rename(temporary, file);
}

/** symbol,date,prediction with predictions rank-transformed to 0..1, streamed line by line. */
async function writeLivePredictions(file: string, live: RoundTable, raw: Float64Array): Promise<void> {
  const symbols = live.symbols ?? [];
  const dates = live.dates ?? [];
  const ranks = percentileRanks(raw);
  const temporary = `${file}.tmp-${process.pid}`;
  const stream = fs.createWriteStream(temporary);
  const write = (text: string) => (stream.write(text) ? Promise.resolve() : new Promise<void>((resolve) => stream.once('drain', () => resolve())));
  try {
    await write('symbol,date,prediction\n');
    for (let r = 0; r < live.rows; r++) {
      await write(`${csvField(symbols[r])},${csvField(dates[r])},${ranks[r].toFixed(6)}\n`);
    }
    stream.end();
    await finished(stream);
  } catch (error) {
    stream.destroy();
    await fs.promises.rm(temporary, { force: true });
    throw error;
  }
  await fs.promises.rename(temporary, file);
}

/** Metric lines and human lines on stdout, as the local provider and BYOC users read them. */
export const stdoutSink: TrainSink = {
  log: (line) => process.stdout.write(`${line}\n`),
  metric: (name, step, value) => process.stdout.write(`${metricLine(name, step, value)}\n`),
};

/** Exit code and message for a failure: 2 for configuration, 1 for everything else. */
export function describeFailure(error: unknown): { exitCode: 1 | 2; message: string } {
  if (error instanceof ConfigError) return { exitCode: 2, message: error.message };
  if (error instanceof DataError) return { exitCode: 1, message: error.message };
  if (error instanceof Error) return { exitCode: 1, message: error.message };
  return { exitCode: 1, message: String(error) };
}

/** MP_ROUND when it is a round number; undefined lets runTraining read round.json instead. */
function roundFromEnv(text: string | undefined): number | undefined {
  const round = Number(text);
  return text && Number.isInteger(round) && round > 0 ? round : undefined;
}

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    const declarations = loadDeclarations();
    const hyperparameters = hyperparametersFromEnv(env.MP_HPARAMS, declarations);
    await runTraining(
      {
        dataDir: path.resolve(env.MP_DATA_DIR || 'data'),
        outputDir: path.resolve(env.MP_OUTPUT_DIR || 'out'),
        hyperparameters,
        runId: env.MP_RUN_ID || null,
        round: roundFromEnv(env.MP_ROUND),
      },
      stdoutSink,
    );
    return 0;
  } catch (error) {
    const { exitCode, message } = describeFailure(error);
    process.stderr.write(`train: error: ${message}\n`);
    // A bug rather than bad input: the stack helps whoever changes this program.
    const known = error instanceof ConfigError || error instanceof DataError || error instanceof TrainingError;
    if (!known && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    return exitCode;
  }
}

if (require.main === module) {
  void main().then((code) => {
    process.exitCode = code;
  });
}
