import type { Values } from './inputs';

/**
 * numerai-tools' DEFAULT_MAX_FILTERED_INDEX_RATIO: matching the sides of a score by symbol may drop at
 * most this share of a side's symbols (changes in the universe lose a few; more means bad input).
 */
export const MAX_FILTERED_RATIO = 0.2;

/** Too few symbols have a value on every side of a score: the date cannot be scored for these inputs. */
export class InsufficientOverlapError extends RangeError {
  override readonly name = 'InsufficientOverlapError';
}

/**
 * The indices of the symbols that have a value (not NaN) on every side, as numerai-tools'
 * filter_sort_index keeps them. An InsufficientOverlapError (a RangeError) when that is fewer than 80% of the date's symbols.
 */
export function symbolsOnEverySide(score: string, sides: readonly Values[]): Uint32Array {
  const count = sides[0].length;
  if (count === 0) throw new InsufficientOverlapError(`${score}: no symbols to score`);
  const kept = new Uint32Array(count);
  let size = 0;
  for (let i = 0; i < count; i += 1) {
    let present = true;
    for (const side of sides) if (Number.isNaN(side[i])) present = false;
    if (present) kept[size++] = i;
  }
  if (size / count < 1 - MAX_FILTERED_RATIO)
    throw new InsufficientOverlapError(
      `${score}: only ${size} of ${count} symbols have a value on every side; at least ${Math.round((1 - MAX_FILTERED_RATIO) * 100)}% must overlap`,
    );
  return kept.subarray(0, size);
}

/** `values` at `indices`. */
export function pick(values: Values, indices: ArrayLike<number>): Float64Array {
  const picked = new Float64Array(indices.length);
  for (let i = 0; i < indices.length; i += 1) picked[i] = values[indices[i]];
  return picked;
}
