import { rankGaussian } from './gaussian';
import { alignedLength, type Values } from './inputs';
import { pick, symbolsOnEverySide } from './symbol-filter';
import { center, dot, orthogonalize } from './vector';

/**
 * Meta-model contribution, MMC (numerai-tools' `correlation_contribution`) on one date: how much the
 * predictions add to the meta model's correlation with the target. Symbols missing (NaN) from any side are
 * dropped (a RangeError when fewer than 80% remain); predictions and meta model are tie-kept ranked and
 * gaussianized, the predictions orthogonalized to the meta model; a target inside [0, 1] is scaled by 4
 * (Numerai's buckets to -2..2) and centered; MMC is target · neutral predictions / symbols, a covariance.
 * 0 when the predictions are all equal; NaN when the meta model is.
 */
export function correlationContribution(predictions: Values, metaModel: Values, target: Values): number {
  alignedLength('correlationContribution', { predictions, metaModel, target });
  const kept = symbolsOnEverySide('correlationContribution', [predictions, metaModel, target]);
  return contributionOfGaussian(rankGaussian(pick(predictions, kept)), rankGaussian(pick(metaModel, kept)), contributionTarget(pick(target, kept)));
}

/** MMC's target: times 4 when it lies inside [0, 1] (Numerai's buckets to -2..2), then centered. */
export function contributionTarget(target: Values): Float64Array {
  let insideUnitInterval = true;
  for (let i = 0; i < target.length; i += 1) if (target[i] < 0 || target[i] > 1) insideUnitInterval = false;
  const scaled = new Float64Array(target.length);
  for (let i = 0; i < target.length; i += 1) scaled[i] = insideUnitInterval ? target[i] * 4 : target[i];
  return center(scaled);
}

/** The last step of MMC: the gaussianized predictions without their meta-model part, against MMC's target. */
export function contributionOfGaussian(gaussian: Values, metaGaussian: Values, target: Values): number {
  return dot(target, orthogonalize(gaussian, metaGaussian)) / target.length;
}
