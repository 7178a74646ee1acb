/**
 * The prediction of a linear model (model.json of runpod-signal-train) for one request.
 *
 * The model's raw output is `raw = bias + sum_i weights[i] * x_i` on the round's features, which
 * are percentile ranks: uniform on 0..1 across a round's rows, median 0.5, variance 1/12. Over
 * such rows `raw` has mean `center = bias + 0.5 * sum_i weights[i]` and standard deviation
 * `spread = sqrt(sum_i weights[i]^2 / 12)` (features taken as independent), so
 *
 *   score      = Phi((raw - center) / spread)   the normal CDF: about the percentile rank of this
 *                                               row's prediction among a round's rows, the one-row
 *                                               counterpart of the rank transform train.ts applies
 *   confidence = |2 * score - 1| * coverage     how far from "no view" (0.5), scaled by the share
 *                                               of the model's features the request supplied
 *
 * A feature the request does not give is taken at its median, 0.5 (it moves nothing). To serve
 * another kind of model, replace `predict` and keep its result shape.
 */
import type { SignalInferenceRequest } from './contract.generated';
import type { ModelFile } from './model-file';

export interface Prediction {
  score: number;
  confidence: number;
}

/** The model produced something that is not a score: a 500, never the caller's fault. */
export class ModelError extends Error {
  override readonly name = 'ModelError';
}

type FeatureInput = Pick<SignalInferenceRequest, 'features' | 'featureVector'>;

export interface FeatureValues {
  values: Float64Array;
  /** How many of the model's features the request gave. */
  known: number;
}

/**
 * The model's features in its own order. Every request the contract allows gets an answer:
 * `featureVector` fills the model's features in order (values past the model's count are
 * ignored), then named `features` set theirs by name (the last of a repeated name wins; names the
 * model does not use are ignored). What neither gives stays at the median, 0.5.
 */
export function featureValues(model: ModelFile, request: FeatureInput): FeatureValues {
  const names = model.featureNames;
  const values = new Float64Array(names.length).fill(0.5);
  const given = new Uint8Array(names.length);
  const vector = request.featureVector ?? [];
  for (let i = 0; i < Math.min(vector.length, names.length); i++) {
    values[i] = vector[i];
    given[i] = 1;
  }
  if (request.features) {
    const index = new Map(names.map((name, i) => [name, i]));
    for (const feature of request.features) {
      const at = index.get(feature.name);
      if (at === undefined) continue;
      values[at] = feature.value;
      given[at] = 1;
    }
  }
  return { values, known: given.reduce((sum, bit) => sum + bit, 0) };
}

/** The standard normal CDF (Abramowitz and Stegun 7.1.26, error below 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

export function predict(model: ModelFile, input: FeatureValues): Prediction {
  const { weights, bias } = model;
  let raw = bias;
  let weightSum = 0;
  let squareSum = 0;
  for (let i = 0; i < weights.length; i++) {
    raw += weights[i] * input.values[i];
    weightSum += weights[i];
    squareSum += weights[i] * weights[i];
  }
  const spread = Math.sqrt(squareSum / 12);
  if (!Number.isFinite(raw) || !Number.isFinite(spread)) throw new ModelError(`the model's output is not a finite number (${raw})`);
  if (spread === 0) return { score: 0.5, confidence: 0 };
  const score = normalCdf((raw - (bias + 0.5 * weightSum)) / spread);
  const coverage = weights.length === 0 ? 0 : input.known / weights.length;
  return { score, confidence: Math.min(1, Math.abs(2 * score - 1) * coverage) };
}
