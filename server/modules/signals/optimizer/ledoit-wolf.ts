import { centeredReturns, crossProduct, type SymmetricMatrix } from './covariance';
import type { ReturnMatrix } from './returns';

export interface ShrunkCovariance {
  /** (1 - shrinkage) · S + shrinkage · target · I. */
  readonly covariance: SymmetricMatrix;
  /** The weight of the target, in [0, 1]. */
  readonly shrinkage: number;
  /** The target's variance: the mean of the sample variances, trace(S) / p. */
  readonly target: number;
  /** The diagonal of S before shrinking (each symbol's own variance). */
  readonly sampleVariances: Float64Array;
}

/**
 * Ledoit & Wolf (2004), "A well-conditioned estimator for large-dimensional covariance
 * matrices": the sample covariance S (divided by T) shrunk toward a scaled identity, with the
 * shrinkage that minimises the expected Frobenius loss. The same estimator and arithmetic as
 * scikit-learn's `sklearn.covariance.ledoit_wolf` (assume_centered=False), whose values the
 * tests reproduce.
 *
 * Chosen over the constant-correlation target of "Honey, I shrunk the sample covariance
 * matrix" because its result is positive definite whenever the shrinkage is positive (even
 * with fewer days than symbols), it has a reference implementation to check against
 * exactly, and it needs nothing beyond S.
 *
 * scikit-learn forms X2ᵀX2 (X2 = X², elementwise) only to add up its entries; that sum is
 * Σ_t (Σ_i x_ti²)², which costs O(T·p) instead of a second O(T·p²) product.
 */
export function ledoitWolf(returns: ReturnMatrix): ShrunkCovariance {
  const p = returns.symbols.length;
  const t = returns.observations;
  const x = centeredReturns(returns);
  const sample = crossProduct(x, p, t);
  const values = sample.values;
  const sampleVariances = new Float64Array(p);
  let trace = 0;
  for (let i = 0; i < p; i += 1) {
    sampleVariances[i] = values[i * p + i];
    trace += sampleVariances[i];
  }
  const target = trace / p;
  if (p === 1) return { covariance: sample, shrinkage: 0, target, sampleVariances };

  // Σ_ij S_ij²: scikit-learn's delta_ (the squared entries of XᵀX, divided by T²).
  let squaredEntries = 0;
  for (let k = 0; k < values.length; k += 1) squaredEntries += values[k] * values[k];
  // Σ_t (Σ_i x_ti²)²: scikit-learn's beta_ before normalisation.
  const rowSquares = new Float64Array(t);
  for (let i = 0; i < p; i += 1) {
    for (let k = 0, offset = i * t; k < t; k += 1) rowSquares[k] += x[offset + k] * x[offset + k];
  }
  let fourthMoments = 0;
  for (let k = 0; k < t; k += 1) fourthMoments += rowSquares[k] * rowSquares[k];

  const beta = (fourthMoments / t - squaredEntries) / (p * t);
  // ‖S - target·I‖²_F / p, written as scikit-learn writes it.
  const delta = (squaredEntries - 2 * target * trace + p * target * target) / p;
  // Never shrink past the target (beta ≤ delta), which would flip the covariances' signs.
  const clipped = Math.min(beta, delta);
  const shrinkage = clipped === 0 ? 0 : clipped / delta;

  // In place: S is not needed past this point (its diagonal is kept above).
  for (let k = 0; k < values.length; k += 1) values[k] *= 1 - shrinkage;
  for (let i = 0; i < p; i += 1) values[i * p + i] += shrinkage * target;
  return { covariance: sample, shrinkage, target, sampleVariances };
}
