import { inverseNormalCdf } from './inverse-normal-cdf';
import type { Values } from './inputs';
import { doubledAverageRanks, percentileOfDoubledRank } from './rank';

/**
 * Tie-kept rank, then numerai-tools' `gaussian` (the standard normal inverse CDF, `norm.ppf`, of each
 * percentile): mean 0 and roughly unit spread whatever the scale of the input. Among
 * `count` values the ranks can only be the 2 * count - 1 (half-)integers, so their inverse CDFs are kept per
 * count and shared by every model and date with that many symbols: the same numbers, computed once.
 */
export function rankGaussian(values: Values): Float64Array {
  const count = values.length;
  const table = inverseCdfTable(count);
  const doubled = doubledAverageRanks(values);
  const gaussian = new Float64Array(count);
  for (let i = 0; i < count; i += 1) {
    let z = table[doubled[i]];
    if (Number.isNaN(z)) z = table[doubled[i]] = inverseNormalCdf(percentileOfDoubledRank(doubled[i], count));
    gaussian[i] = z;
  }
  return gaussian;
}

/** Enough for the symbol counts of one round (the full universe and the few counts a missing symbol leaves). */
const TABLES_KEPT = 16;
const tables = new Map<number, Float64Array>();

/** The inverse CDF per doubled rank for `count` values, filled as ranks come up (NaN: not yet computed). */
function inverseCdfTable(count: number): Float64Array {
  let table = tables.get(count);
  if (table === undefined) {
    if (tables.size >= TABLES_KEPT) tables.delete(tables.keys().next().value!);
    table = new Float64Array(2 * count + 1).fill(Number.NaN);
    tables.set(count, table);
  }
  return table;
}
