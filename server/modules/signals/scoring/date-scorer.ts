import { contributionOfGaussian, contributionTarget, correlationContribution } from './correlation-contribution';
import { featureNeutralCorrOn, neutralGaussian } from './feature-neutral-corr';
import { rankGaussian } from './gaussian';
import { alignedLength, type Values } from './inputs';
import { Neutralizer } from './neutralize';
import { numeraiCorr, numeraiCorrOfGaussian, poweredTarget } from './numerai-corr';
import { hasNaN } from './vector';

export interface DateInputs {
  target: Values;
  metaModel: Values;
  /** One array per feature. */
  features: readonly Values[];
}

export interface ModelDateScores {
  numeraiCorr: number;
  mmc: number;
  fnc: number;
}

interface Shared {
  powered: Float64Array;
  metaGaussian: Float64Array;
  contributionTarget: Float64Array;
  neutralizer: Neutralizer;
}

/**
 * numerai_corr, MMC and FNC of many models on one date. What depends on the date alone (the powered target,
 * the gaussianized meta model, MMC's target, the features' least-squares basis) is computed once, and a model
 * that predicted every symbol is scored from it with one ranking of its predictions instead of three. Any
 * other model (or a date with no symbols, or a missing target or meta-model value) goes through numeraiCorr,
 * correlationContribution and featureNeutralCorr, which drop missing symbols. The numbers are the same.
 */
export class DateScorer {
  private readonly shared: Shared | undefined;
  private readonly fnc: (predictions: Values) => number;

  constructor(private readonly inputs: DateInputs) {
    const { target, metaModel, features } = inputs;
    this.fnc = featureNeutralCorrOn(features, target);
    alignedLength('DateScorer', { target, metaModel });
    if (target.length === 0 || hasNaN(target) || hasNaN(metaModel)) return;
    this.shared = {
      powered: poweredTarget(target),
      metaGaussian: rankGaussian(metaModel),
      contributionTarget: contributionTarget(target),
      neutralizer: new Neutralizer(features, target.length),
    };
  }

  /** A RangeError when the predictions are misaligned; an InsufficientOverlapError when they cover under 80% of the symbols. */
  score(predictions: Values): ModelDateScores {
    const { target, metaModel } = this.inputs;
    alignedLength('DateScorer', { predictions, target });
    const shared = this.shared;
    if (shared === undefined || hasNaN(predictions))
      return { numeraiCorr: numeraiCorr(predictions, target), mmc: correlationContribution(predictions, metaModel, target), fnc: this.fnc(predictions) };
    const gaussian = rankGaussian(predictions);
    const neutral = neutralGaussian(gaussian, shared.neutralizer);
    return {
      numeraiCorr: numeraiCorrOfGaussian(gaussian, shared.powered),
      mmc: contributionOfGaussian(gaussian, shared.metaGaussian, shared.contributionTarget),
      fnc: neutral === undefined ? Number.NaN : numeraiCorrOfGaussian(rankGaussian(neutral), shared.powered),
    };
  }
}
