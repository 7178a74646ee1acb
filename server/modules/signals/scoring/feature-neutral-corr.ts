import { rankGaussian } from './gaussian';
import { alignedLength, requireComplete, type Values } from './inputs';
import { Neutralizer } from './neutralize';
import { numeraiCorrOfAligned } from './numerai-corr';
import { pick, symbolsOnEverySide } from './symbol-filter';
import { isConstant, populationStd } from './vector';

/**
 * What is left of gaussianized predictions once the features are projected out is noise when it is this small
 * a share of them (more features than symbols, or predictions that are a mix of the features): no score.
 */
const EXPLAINED_TOLERANCE = 1e-10;

/**
 * Feature-neutral correlation, FNC (numerai-tools' `feature_neutral_corr`) on one date: predictions ->
 * tie-kept rank -> gaussian -> neutralized against the features (least squares with an intercept) ->
 * divided by their population standard deviation; then numeraiCorr of that against the target.
 * `features` holds one array per feature, each aligned with the predictions; a NaN feature value is a
 * RangeError. Symbols without a prediction (NaN) are left out of the ranking and the neutralization and
 * count as missing in numeraiCorr's 80% rule (numerai-tools refuses NaN predictions here outright). NaN
 * when the predictions are all equal or the features explain them entirely.
 */
export function featureNeutralCorr(predictions: Values, features: readonly Values[], target: Values): number {
  return featureNeutralCorrOn(features, target)(predictions);
}

/**
 * FNC against one date's features and target, for many models: the least-squares basis of the features is
 * built once and reused for every model that predicted every symbol.
 */
export function featureNeutralCorrOn(features: readonly Values[], target: Values): (predictions: Values) => number {
  const sides: Record<string, Values> = { target };
  features.forEach((feature, index) => (sides[`features[${index}]`] = feature));
  const count = alignedLength('featureNeutralCorr', sides);
  features.forEach((feature, index) => requireComplete('featureNeutralCorr', `features[${index}]`, feature));
  let allSymbols: Neutralizer | undefined;
  return (predictions) => {
    alignedLength('featureNeutralCorr', { predictions, target });
    const kept = symbolsOnEverySide('featureNeutralCorr', [predictions]);
    let neutralizer: Neutralizer;
    if (kept.length === count) neutralizer = allSymbols ??= new Neutralizer(features, count);
    else
      neutralizer = new Neutralizer(
        features.map((feature) => pick(feature, kept)),
        kept.length,
      );
    const neutral = neutralGaussian(rankGaussian(pick(predictions, kept)), neutralizer);
    if (neutral === undefined) return Number.NaN;
    const normalized = new Float64Array(count).fill(Number.NaN);
    kept.forEach((symbol, i) => (normalized[symbol] = neutral[i]));
    return numeraiCorrOfAligned('featureNeutralCorr', normalized, target);
  };
}

/**
 * The middle of FNC: gaussianized predictions neutralized against the features and divided by their
 * population standard deviation; undefined when the predictions are all equal or nothing is left of them.
 */
export function neutralGaussian(gaussian: Values, neutralizer: Neutralizer): Float64Array | undefined {
  if (isConstant(gaussian)) return undefined;
  const neutral = neutralizer.residual(gaussian);
  const spread = populationStd(neutral);
  if (!(spread > EXPLAINED_TOLERANCE * populationStd(gaussian))) return undefined;
  for (let i = 0; i < neutral.length; i += 1) neutral[i] /= spread;
  return neutral;
}
