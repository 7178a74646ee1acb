import type { ReturnMatrix } from './returns';

/** A symmetric size × size matrix, row-major (both triangles stored). */
export interface SymmetricMatrix {
  readonly size: number;
  readonly values: Float64Array;
}

/** Each symbol's returns minus that symbol's mean, in the ReturnMatrix layout. */
export function centeredReturns(returns: ReturnMatrix): Float64Array {
  const { observations: t, values } = returns;
  const centered = new Float64Array(values.length);
  for (let offset = 0; offset < values.length; offset += t) {
    let sum = 0;
    for (let k = 0; k < t; k += 1) sum += values[offset + k];
    const mean = sum / t;
    for (let k = 0; k < t; k += 1) centered[offset + k] = values[offset + k] - mean;
  }
  return centered;
}

/**
 * XᵀX / observations for symbol-major rows X (already centered): the maximum-likelihood
 * sample covariance, divided by T rather than T - 1 because that is the matrix Ledoit-Wolf
 * shrink (and what scikit-learn's empirical_covariance returns).
 *
 * The kernel takes two rows against four at a time: eight running sums from six loads per
 * step instead of one sum from two loads, which is what makes 500 × 750 take tens of
 * milliseconds rather than hundreds. Indices past the end are clamped to the last row: the
 * duplicate products they compute are still correct entries, written twice.
 */
export function crossProduct(rows: Float64Array, size: number, observations: number): SymmetricMatrix {
  const t = observations;
  const out = new Float64Array(size * size);
  const last = size - 1;
  const put = (a: number, b: number, value: number) => {
    out[a * size + b] = value;
    out[b * size + a] = value;
  };
  for (let i = 0; i < size; i += 2) {
    const i1 = Math.min(i + 1, last);
    const x0 = i * t;
    const x1 = i1 * t;
    for (let j = 0; j <= i1; j += 4) {
      const j1 = Math.min(j + 1, last);
      const j2 = Math.min(j + 2, last);
      const j3 = Math.min(j + 3, last);
      const y0 = j * t;
      const y1 = j1 * t;
      const y2 = j2 * t;
      const y3 = j3 * t;
      let s00 = 0;
      let s01 = 0;
      let s02 = 0;
      let s03 = 0;
      let s10 = 0;
      let s11 = 0;
      let s12 = 0;
      let s13 = 0;
      for (let k = 0; k < t; k += 1) {
        const a0 = rows[x0 + k];
        const a1 = rows[x1 + k];
        const b0 = rows[y0 + k];
        const b1 = rows[y1 + k];
        const b2 = rows[y2 + k];
        const b3 = rows[y3 + k];
        s00 += a0 * b0;
        s01 += a0 * b1;
        s02 += a0 * b2;
        s03 += a0 * b3;
        s10 += a1 * b0;
        s11 += a1 * b1;
        s12 += a1 * b2;
        s13 += a1 * b3;
      }
      put(i, j, s00 / t);
      put(i, j1, s01 / t);
      put(i, j2, s02 / t);
      put(i, j3, s03 / t);
      put(i1, j, s10 / t);
      put(i1, j1, s11 / t);
      put(i1, j2, s12 / t);
      put(i1, j3, s13 / t);
    }
  }
  return { size, values: out };
}

/** The sample covariance of the returns (divided by T, see crossProduct). */
export function sampleCovariance(returns: ReturnMatrix): SymmetricMatrix {
  return crossProduct(centeredReturns(returns), returns.symbols.length, returns.observations);
}

/** Σw. */
export function multiply(matrix: SymmetricMatrix, vector: ArrayLike<number>): Float64Array {
  const { size, values } = matrix;
  const out = new Float64Array(size);
  for (let j = 0; j < size; j += 1) {
    const wj = vector[j];
    if (wj === 0) continue; // portfolios are mostly zeros
    for (let i = 0, offset = j * size; i < size; i += 1) out[i] += values[offset + i] * wj;
  }
  return out;
}

/** wᵀΣw. */
export function quadraticForm(matrix: SymmetricMatrix, vector: ArrayLike<number>): number {
  const product = multiply(matrix, vector);
  let sum = 0;
  for (let i = 0; i < matrix.size; i += 1) sum += vector[i] * product[i];
  return sum;
}

/** The diagonal, as a new array. */
export function diagonal(matrix: SymmetricMatrix): Float64Array {
  const out = new Float64Array(matrix.size);
  for (let i = 0; i < matrix.size; i += 1) out[i] = matrix.values[i * matrix.size + i];
  return out;
}
