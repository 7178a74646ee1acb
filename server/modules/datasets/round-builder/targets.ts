import type { PriceRow } from './types';

/** The five target values, lowest forward return first. */
export const TARGET_VALUES = [0, 0.25, 0.5, 0.75, 1] as const;

/** How the target is computed (one paragraph, for the README). */
export const TARGET_DOC =
  'The target is the forward return close[t+h] / close[t] - 1, where t+h is the row h trading rows later of the same symbol ' +
  "(h = the round's horizon), bucketed into 0, 0.25, 0.5, 0.75 and 1 by four cut points: the 20th, 40th, 60th and 80th " +
  'percentiles of all TRAIN forward returns (so validation and live prices never influence the labels). A return r gets ' +
  'bucket k (0..4, published as k / 4) where k is the number of cut points <= r. The same cut points bucket the realized ' +
  'returns of the live rows in the resolution file.';

/** close[i + h] / close[i] - 1 in one symbol's series, or undefined when row i + h does not exist. */
export function forwardReturn(series: PriceRow[], i: number, horizonDays: number): number | undefined {
  const later = series[i + horizonDays];
  return later === undefined ? undefined : later.close / series[i].close - 1;
}

/** The 20th, 40th, 60th and 80th percentiles (linear interpolation between sorted values). */
export function quintileThresholds(returns: number[]): number[] {
  const sorted = [...returns].sort((a, b) => a - b);
  return [0.2, 0.4, 0.6, 0.8].map((p) => {
    const position = (sorted.length - 1) * p;
    const below = Math.floor(position);
    const above = Math.min(below + 1, sorted.length - 1);
    return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
  });
}

/** The target value (0, 0.25, 0.5, 0.75 or 1) of a forward return: number of cut points <= it, over 4. */
export function bucketTarget(forward: number, thresholds: number[]): number {
  const passed = thresholds.filter((cut) => forward >= cut).length;
  return TARGET_VALUES[passed];
}
