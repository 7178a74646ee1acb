/**
 * The model: linear regression of the target on the features,
 *
 *   prediction = bias + sum_i weights[i] * feature_i
 *
 * fitted to minimise the ridge objective
 *
 *   mean((prediction - target)^2) + l2 * sum_i w_i^2
 *
 * by mini-batch gradient descent. Internally the features are standardized (mean 0, standard
 * deviation 1 over train.csv) so that one learning rate suits every feature, and `w_i` are the
 * weights on the standardized features; the bias is not penalized. The same objective has a
 * closed-form solution (`fitRidgeClosedForm`), printed as a baseline: gradient descent should
 * approach it as it converges. Everything here is deterministic given `seed`.
 *
 * To try another model, keep the `LinearModel`-shaped output (or change `predict` and the
 * model.json writer in train.ts) and replace `trainGradientDescent`.
 */
import type { RoundTable } from './data';

/** Training could not finish (it diverged). Exit code 1, no stack trace: the message says what to change. */
export class TrainingError extends Error {
  override readonly name = 'TrainingError';
}

export interface TrainingHyperparameters {
  lr: number;
  epochs: number;
  l2: number;
  batch_size: number;
  seed: number;
}

/** Weights on the raw (0..1) features, as written to model.json. */
export interface LinearModel {
  featureNames: string[];
  weights: number[];
  bias: number;
}

/** Per-feature mean and scale over the training rows. A constant feature gets scale 1 (it stays 0). */
export interface Standardizer {
  mean: Float64Array;
  scale: Float64Array;
}

export function fitStandardizer(table: RoundTable): Standardizer {
  const f = table.featureNames.length;
  const mean = new Float64Array(f);
  const m2 = new Float64Array(f);
  // Welford, one pass, numerically stable.
  for (let r = 0; r < table.rows; r++) {
    const n = r + 1;
    for (let j = 0; j < f; j++) {
      const x = table.features[r * f + j];
      const delta = x - mean[j];
      mean[j] += delta / n;
      m2[j] += delta * (x - mean[j]);
    }
  }
  const scale = new Float64Array(f);
  for (let j = 0; j < f; j++) {
    const std = Math.sqrt(m2[j] / table.rows);
    scale[j] = std > 1e-12 ? std : 1;
  }
  return { mean, scale };
}

/** Seeded PRNG (mulberry32): the same seed gives the same shuffles and initial weights everywhere. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box-Muller) from a uniform generator. */
function gaussian(random: () => number): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

function shuffleInPlace(indices: Uint32Array, random: () => number): void {
  for (let i = indices.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = indices[i];
    indices[i] = indices[j];
    indices[j] = swap;
  }
}

/** Weights and bias on the standardized features, as gradient descent updates them. */
interface StandardizedModel {
  w: Float64Array;
  b: number;
}

/** Converts a model on standardized features back to weights on the raw features. */
export function toRawModel(featureNames: string[], standardizer: Standardizer, model: StandardizedModel): LinearModel {
  const weights: number[] = [];
  let bias = model.b;
  for (let j = 0; j < featureNames.length; j++) {
    const weight = model.w[j] / standardizer.scale[j];
    weights.push(weight);
    bias -= weight * standardizer.mean[j];
  }
  return { featureNames: [...featureNames], weights, bias };
}

/** Predictions of a raw-feature model for every row of a table. */
export function predict(model: LinearModel, table: RoundTable): Float64Array {
  const f = model.featureNames.length;
  if (table.featureNames.length !== f || table.featureNames.some((name, j) => name !== model.featureNames[j])) {
    throw new Error(`${table.name} has features ${table.featureNames.join(', ')}; the model expects ${model.featureNames.join(', ')}`);
  }
  const out = new Float64Array(table.rows);
  for (let r = 0; r < table.rows; r++) {
    let sum = model.bias;
    const base = r * f;
    for (let j = 0; j < f; j++) sum += model.weights[j] * table.features[base + j];
    out[r] = sum;
  }
  return out;
}

export interface EpochReport {
  epoch: number;
  /** The model after this epoch, on raw features. */
  model: LinearModel;
}

/**
 * Mini-batch gradient descent on the ridge objective, `epochs` passes over the rows in a fresh
 * seeded order each time. After every epoch `onEpoch` gets the current model (to report metrics);
 * it may be async, so a caller can let other work (streaming the output) run between epochs.
 */
export async function trainGradientDescent(
  train: RoundTable,
  hp: TrainingHyperparameters,
  onEpoch: (report: EpochReport) => void | Promise<void>,
): Promise<LinearModel> {
  const target = train.target;
  if (!target) throw new Error(`${train.name} has no targets to train on`);
  const f = train.featureNames.length;
  const n = train.rows;
  const standardizer = fitStandardizer(train);
  const random = mulberry32(hp.seed);
  const model: StandardizedModel = { w: new Float64Array(f), b: 0 };
  // Small random weights (so the seed matters beyond the order of rows); the bias starts at the
  // mean target, which is where the optimum puts it on standardized features.
  for (let j = 0; j < f; j++) model.w[j] = 0.01 * gaussian(random);
  let targetSum = 0;
  for (let r = 0; r < n; r++) targetSum += target[r];
  model.b = targetSum / n;

  const order = new Uint32Array(n);
  for (let r = 0; r < n; r++) order[r] = r;
  const x = new Float64Array(f);
  const gradW = new Float64Array(f);
  const batchSize = Math.max(1, Math.min(hp.batch_size, n));

  for (let epoch = 1; epoch <= hp.epochs; epoch++) {
    shuffleInPlace(order, random);
    for (let start = 0; start < n; start += batchSize) {
      const end = Math.min(n, start + batchSize);
      const size = end - start;
      gradW.fill(0);
      let gradB = 0;
      for (let k = start; k < end; k++) {
        const r = order[k];
        let prediction = model.b;
        for (let j = 0; j < f; j++) {
          x[j] = (train.features[r * f + j] - standardizer.mean[j]) / standardizer.scale[j];
          prediction += model.w[j] * x[j];
        }
        const error = prediction - target[r];
        for (let j = 0; j < f; j++) gradW[j] += error * x[j];
        gradB += error;
      }
      // d/dw of mean(error^2) + l2 * |w|^2
      for (let j = 0; j < f; j++) model.w[j] -= hp.lr * ((2 * gradW[j]) / size + 2 * hp.l2 * model.w[j]);
      model.b -= hp.lr * ((2 * gradB) / size);
    }
    if (!model.w.every(Number.isFinite) || !Number.isFinite(model.b)) {
      throw new TrainingError(`training diverged in epoch ${epoch} (weights became infinite): lower lr (now ${hp.lr})`);
    }
    await onEpoch({ epoch, model: toRawModel(train.featureNames, standardizer, model) });
  }
  return toRawModel(train.featureNames, standardizer, model);
}

/**
 * The exact minimiser of the same ridge objective, from the normal equations on standardized
 * features: w = (X'X/n + l2 I)^-1 X'(y - mean y)/n, bias = mean y.
 */
export function fitRidgeClosedForm(train: RoundTable, l2: number): LinearModel {
  const target = train.target;
  if (!target) throw new Error(`${train.name} has no targets to train on`);
  const f = train.featureNames.length;
  const n = train.rows;
  const standardizer = fitStandardizer(train);
  let meanY = 0;
  for (let r = 0; r < n; r++) meanY += target[r];
  meanY /= n;
  const xtx = Array.from({ length: f }, () => new Float64Array(f));
  const xty = new Float64Array(f);
  const x = new Float64Array(f);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < f; j++) x[j] = (train.features[r * f + j] - standardizer.mean[j]) / standardizer.scale[j];
    const y = target[r] - meanY;
    for (let i = 0; i < f; i++) {
      xty[i] += x[i] * y;
      for (let j = i; j < f; j++) xtx[i][j] += x[i] * x[j];
    }
  }
  // A tiny floor keeps the system solvable when l2 is 0 and a feature is constant or duplicated.
  const ridge = Math.max(l2, 1e-8);
  for (let i = 0; i < f; i++) {
    for (let j = i; j < f; j++) {
      xtx[i][j] /= n;
      xtx[j][i] = xtx[i][j];
    }
    xtx[i][i] += ridge;
    xty[i] /= n;
  }
  const w = solveLinearSystem(xtx, xty);
  return toRawModel(train.featureNames, standardizer, { w, b: meanY });
}

/** Solves A x = b by Gaussian elimination with partial pivoting (A is small: one row per feature). */
export function solveLinearSystem(matrix: Float64Array[], vector: Float64Array): Float64Array {
  const n = vector.length;
  const a = matrix.map((row) => Float64Array.from(row));
  const b = Float64Array.from(vector);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let row = col + 1; row < n; row++) if (Math.abs(a[row][col]) > Math.abs(a[pivot][col])) pivot = row;
    if (Math.abs(a[pivot][col]) < 1e-14) throw new Error('the normal equations are singular; set l2 above 0');
    [a[col], a[pivot]] = [a[pivot], a[col]];
    [b[col], b[pivot]] = [b[pivot], b[col]];
    for (let row = col + 1; row < n; row++) {
      const factor = a[row][col] / a[col][col];
      if (factor === 0) continue;
      for (let k = col; k < n; k++) a[row][k] -= factor * a[col][k];
      b[row] -= factor * b[col];
    }
  }
  const x = new Float64Array(n);
  for (let row = n - 1; row >= 0; row--) {
    let sum = b[row];
    for (let k = row + 1; k < n; k++) sum -= a[row][k] * x[k];
    x[row] = sum / a[row][row];
  }
  return x;
}
