import { rankGaussian } from './gaussian';
import { alignedLength, type Values } from './inputs';
import { pick, symbolsOnEverySide } from './symbol-filter';
import { meanOfPresent, pearson, signedPower15, subtract } from './vector';

/**
 * Numerai's correlation (numerai-tools' `numerai_corr`) on one date. The target is centered over every
 * symbol that has one; then only symbols with both a prediction and a target are kept (NaN marks a missing
 * one; a RangeError when fewer than 80% remain); predictions -> tie-kept rank -> gaussian -> power 1.5,
 * target -> power 1.5, and the Pearson correlation of the two. NaN when the predictions are all equal.
 */
export function numeraiCorr(predictions: Values, target: Values): number {
  alignedLength('numeraiCorr', { predictions, target });
  return numeraiCorrOfAligned('numeraiCorr', predictions, target);
}

/** numeraiCorr without the input checks, for callers that made them (FNC). */
export function numeraiCorrOfAligned(score: string, predictions: Values, target: Values): number {
  const centeredTarget = subtract(target, meanOfPresent(target));
  const kept = symbolsOnEverySide(score, [predictions, target]);
  return numeraiCorrOfGaussian(rankGaussian(pick(predictions, kept)), signedPower15(pick(centeredTarget, kept)));
}

/** The target side of numerai_corr when every symbol has a target: centered, to the power 1.5. */
export function poweredTarget(target: Values): Float64Array {
  return signedPower15(subtract(target, meanOfPresent(target)));
}

/** The last step of numerai_corr: gaussianized predictions to the power 1.5 against the powered target. */
export function numeraiCorrOfGaussian(gaussian: Values, powered: Values): number {
  return pearson(signedPower15(gaussian), powered);
}
