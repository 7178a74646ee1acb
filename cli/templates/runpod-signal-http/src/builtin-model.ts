/**
 * The model served when neither MP_MODEL_PATH nor MP_MODEL_URL is set, so that a fresh project
 * answers at once. Its weights are set by hand, not trained: a little medium-term momentum
 * (20 and 60-day returns, distance above the 50-day average) against short-term reversal and
 * high volatility, on the 13 features of a marketplace round. Train a real one with
 * runpod-signal-train and point MP_MODEL_PATH at its model.json.
 */
import type { LoadedModel, ModelFile } from './model-file';
import { MODEL_FORMAT, describeModel } from './model-file';

const WEIGHTS: ReadonlyArray<readonly [string, number]> = [
  ['return_1d', -0.02],
  ['return_5d', -0.01],
  ['return_20d', 0.02],
  ['return_60d', 0.03],
  ['volatility_20d', -0.01],
  ['volatility_60d', 0],
  ['range_1d', 0],
  ['range_20d', 0],
  ['volume_zscore_20d', 0],
  ['rsi_14', -0.01],
  ['sma_20_distance', 0.01],
  ['sma_50_distance', 0.02],
  ['drawdown_20d', -0.01],
];

export function builtInModel(): LoadedModel {
  const weights = WEIGHTS.map(([, weight]) => weight);
  // Features are percentile ranks (0..1, median 0.5): this bias puts the median row's prediction at 0.5.
  const bias = 0.5 - 0.5 * weights.reduce((sum, weight) => sum + weight, 0);
  const file: ModelFile = { format: MODEL_FORMAT, task: 'SIGNAL', featureNames: WEIGHTS.map(([name]) => name), weights, bias };
  return { file, version: 'built-in', description: `the built-in ${describeModel(file)}` };
}
