/** Checks shared by the scores: one value per symbol on every side, and no value but a finite number or NaN. */

/** The scores' inputs: plain arrays or typed arrays, one value per symbol of the date. */
export type Values = ArrayLike<number>;

/**
 * The common length of `sides` (named for the message). A RangeError when the lengths differ or
 * when a value is neither finite nor NaN (NaN marks a symbol missing from that side).
 */
export function alignedLength(score: string, sides: Record<string, Values>): number {
  const entries = Object.entries(sides);
  const [firstName, first] = entries[0];
  for (const [name, values] of entries) {
    if (values.length !== first.length)
      throw new RangeError(`${score}: ${name} has ${values.length} values but ${firstName} has ${first.length}; pass one value per symbol, aligned by symbol`);
    for (let i = 0; i < values.length; i += 1) {
      const value = values[i];
      if (typeof value !== 'number' || value === Number.POSITIVE_INFINITY || value === Number.NEGATIVE_INFINITY)
        throw new RangeError(`${score}: ${name}[${i}] is ${String(value)}; values must be finite numbers (NaN marks a missing symbol)`);
    }
  }
  return first.length;
}

/** A RangeError when `values` has a NaN (for inputs where a missing value cannot be dropped). */
export function requireComplete(score: string, name: string, values: Values): void {
  for (let i = 0; i < values.length; i += 1)
    if (Number.isNaN(values[i])) throw new RangeError(`${score}: ${name}[${i}] is NaN; every symbol needs a value here`);
}
