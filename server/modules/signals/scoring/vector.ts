import type { Values } from './inputs';

/** The arithmetic of the scores over one date's values (no NaN: the callers filter first). */

/** A copy as a Float64Array (a loop: `Float64Array.from` walks an iterator and is far slower). */
export function copy(values: Values): Float64Array {
  const copied = new Float64Array(values.length);
  for (let i = 0; i < values.length; i += 1) copied[i] = values[i];
  return copied;
}

export function mean(values: Values): number {
  let sum = 0;
  for (let i = 0; i < values.length; i += 1) sum += values[i];
  return sum / values.length;
}

/** The mean of the values that are not NaN (pandas' `Series.mean`); NaN when there are none. */
export function meanOfPresent(values: Values): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < values.length; i += 1) {
    if (Number.isNaN(values[i])) continue;
    sum += values[i];
    count += 1;
  }
  return count === 0 ? Number.NaN : sum / count;
}

/** `values - shift` (NaN stays NaN). */
export function subtract(values: Values, shift: number): Float64Array {
  const shifted = new Float64Array(values.length);
  for (let i = 0; i < values.length; i += 1) shifted[i] = values[i] - shift;
  return shifted;
}

export function center(values: Values): Float64Array {
  return subtract(values, mean(values));
}

/** `sign(x) * |x|^1.5`: keeps the sign, stretches the tails (`x * sqrt(x)`, several times faster than `x ** 1.5`). */
export function signedPower15(values: Values): Float64Array {
  const powered = new Float64Array(values.length);
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i];
    powered[i] = value < 0 ? value * Math.sqrt(-value) : value * Math.sqrt(value);
  }
  return powered;
}

export function dot(x: Values, y: Values): number {
  let sum = 0;
  for (let i = 0; i < x.length; i += 1) sum += x[i] * y[i];
  return sum;
}

/** `v - u (v·u) / (u·u)`: v without its component along u (NaN when u is all zeros). */
export function orthogonalize(v: Values, u: Values): Float64Array {
  const scale = dot(v, u) / dot(u, u);
  const orthogonal = new Float64Array(v.length);
  for (let i = 0; i < v.length; i += 1) orthogonal[i] = v[i] - u[i] * scale;
  return orthogonal;
}

/** The population standard deviation (`np.std`, ddof 0). */
export function populationStd(values: Values): number {
  const average = mean(values);
  let squares = 0;
  for (let i = 0; i < values.length; i += 1) squares += (values[i] - average) ** 2;
  return Math.sqrt(squares / values.length);
}

/** The Pearson correlation; NaN when either side is constant or has fewer than two values (as pandas answers). */
export function pearson(x: Values, y: Values): number {
  const count = x.length;
  // Checked as such: the mean of equal values is not always exactly that value, which would leave a spurious tiny spread.
  if (count < 2 || isConstant(x) || isConstant(y)) return Number.NaN;
  const meanX = mean(x);
  const meanY = mean(y);
  let xy = 0;
  let xx = 0;
  let yy = 0;
  for (let i = 0; i < count; i += 1) {
    const dx = x[i] - meanX;
    const dy = y[i] - meanY;
    xy += dx * dy;
    xx += dx * dx;
    yy += dy * dy;
  }
  return Math.max(-1, Math.min(1, xy / Math.sqrt(xx * yy)));
}

export function hasNaN(values: Values): boolean {
  for (let i = 0; i < values.length; i += 1) if (Number.isNaN(values[i])) return true;
  return false;
}

export function isConstant(values: Values): boolean {
  for (let i = 1; i < values.length; i += 1) if (values[i] !== values[0]) return false;
  return true;
}
