import type { Values } from './inputs';
import { copy } from './vector';

/**
 * A column that keeps less than this share of the largest column's norm once the columns before it are
 * projected out adds nothing to the span: numpy's `lstsq(..., rcond=1e-6)` treats such directions as zero.
 */
const DEPENDENT_COLUMN_TOLERANCE = 1e-6;

/**
 * Least-squares neutralization (numerai-tools' `neutralize` at proportion 1): a vector minus its least-squares
 * fit on a set of columns plus a column of ones. The residual of a least-squares fit is the vector minus its
 * orthogonal projection onto the columns' span, so the columns are turned once into an orthonormal basis
 * (Gram-Schmidt, each column orthogonalized twice to stay orthonormal to machine precision) and every vector
 * neutralized against the same columns (all models on one date) reuses it.
 */
export class Neutralizer {
  private readonly basis: Float64Array[] = [];

  constructor(
    columns: readonly Values[],
    private readonly length: number,
  ) {
    const all = [...columns.map(copy), new Float64Array(length).fill(1)];
    let largestNorm = 0;
    for (const column of all) largestNorm = Math.max(largestNorm, Math.sqrt(squaredNorm(column)));
    for (const direction of all) {
      projectOut(this.basis, direction);
      projectOut(this.basis, direction);
      const norm = Math.sqrt(squaredNorm(direction));
      if (norm <= DEPENDENT_COLUMN_TOLERANCE * largestNorm) continue;
      for (let i = 0; i < length; i += 1) direction[i] /= norm;
      this.basis.push(direction);
    }
  }

  /** How many independent directions the columns and the intercept span. */
  get rank(): number {
    return this.basis.length;
  }

  /** `values` minus its least-squares fit on the columns and the intercept. */
  residual(values: Values): Float64Array {
    if (values.length !== this.length) throw new RangeError(`neutralize: ${values.length} values against columns of ${this.length}`);
    const residual = copy(values);
    projectOut(this.basis, residual);
    return residual;
  }
}

/** Subtracts from `vector` its component along each of the orthonormal `basis` vectors, in turn. */
function projectOut(basis: readonly Float64Array[], vector: Float64Array): void {
  const length = vector.length;
  for (const direction of basis) {
    let along = 0;
    for (let i = 0; i < length; i += 1) along += vector[i] * direction[i];
    for (let i = 0; i < length; i += 1) vector[i] -= along * direction[i];
  }
}

function squaredNorm(values: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i += 1) sum += values[i] * values[i];
  return sum;
}
