import type { Values } from './inputs';
import { sortByValue } from './sort-by-value';

/**
 * Twice each value's average rank (1-based; tied values share the mean of their ranks, as pandas'
 * `rank(method='average')`), an integer from 2 to 2 * count. `values` must hold no NaN: the scores drop
 * missing symbols before ranking.
 */
export function doubledAverageRanks(values: Values): Uint32Array {
  const count = values.length;
  const sorted = new Float64Array(count);
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i += 1) {
    sorted[i] = values[i];
    order[i] = i;
  }
  sortByValue(sorted, order);
  const doubled = new Uint32Array(count);
  let start = 0;
  while (start < count) {
    let end = start + 1;
    while (end < count && sorted[end] === sorted[start]) end += 1;
    // sorted positions start..end-1 hold ranks start+1..end, whose mean is (start + 1 + end) / 2
    for (let k = start; k < end; k += 1) doubled[order[k]] = start + 1 + end;
    start = end;
  }
  return doubled;
}

/** The percentile of a doubled average rank among `count` values: `(rank - 0.5) / count`, in (0, 1). */
export function percentileOfDoubledRank(doubled: number, count: number): number {
  return (doubled / 2 - 0.5) / count;
}

/** Tie-kept percentile rank, numerai-tools' `tie_kept_rank`: `(rank - 0.5) / count` with average ranks for ties. */
export function tieKeptRank(values: Values): Float64Array {
  const doubled = doubledAverageRanks(values);
  const ranks = new Float64Array(values.length);
  for (let i = 0; i < values.length; i += 1) ranks[i] = percentileOfDoubledRank(doubled[i], values.length);
  return ranks;
}
