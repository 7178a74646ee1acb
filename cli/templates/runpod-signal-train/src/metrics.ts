/**
 * The numbers a run reports. The main one is `val_corr`: the Spearman (rank) correlation of the
 * model's predictions with the validation targets, as in Numerai's tournament. Only the order of
 * the predictions matters for it, which is why live predictions are rank-transformed too.
 */

/** Mean squared error of predictions against targets. */
export function meanSquaredError(predictions: ArrayLike<number>, targets: ArrayLike<number>): number {
  checkSameLength(predictions, targets);
  let sum = 0;
  for (let i = 0; i < predictions.length; i++) {
    const error = predictions[i] - targets[i];
    sum += error * error;
  }
  return predictions.length === 0 ? 0 : sum / predictions.length;
}

/**
 * Pearson correlation. A constant input has no defined correlation; it counts as 0 (no signal)
 * so that a metric line always carries a finite number.
 */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkSameLength(a, b);
  const n = a.length;
  if (n < 2) return 0;
  let meanA = 0;
  let meanB = 0;
  for (let i = 0; i < n; i++) {
    meanA += a[i];
    meanB += b[i];
  }
  meanA /= n;
  meanB /= n;
  let cov = 0;
  let varA = 0;
  let varB = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - meanA;
    const db = b[i] - meanB;
    cov += da * db;
    varA += da * da;
    varB += db * db;
  }
  if (varA <= 0 || varB <= 0) return 0;
  const r = cov / Math.sqrt(varA * varB);
  return Math.max(-1, Math.min(1, r));
}

/** 0-based ranks, ties sharing the average of their ranks (what Spearman's rho needs). */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((x, y) => values[x] - values[y] || x - y);
  const ranks = new Float64Array(n);
  let start = 0;
  while (start < n) {
    let end = start;
    while (end + 1 < n && values[order[end + 1]] === values[order[start]]) end += 1;
    const rank = (start + end) / 2;
    for (let k = start; k <= end; k++) ranks[order[k]] = rank;
    start = end + 1;
  }
  return ranks;
}

/** Spearman's rank correlation: Pearson of the average ranks (ties handled; the targets have only 5 values). */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkSameLength(a, b);
  return pearson(averageRanks(a), averageRanks(b));
}

/** Percentile ranks in 0..1: lowest 0, highest 1, ties averaged; a single value is 0.5. */
export function percentileRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const ranks = averageRanks(values);
  for (let i = 0; i < n; i++) ranks[i] = n === 1 ? 0.5 : ranks[i] / (n - 1);
  return ranks;
}

function checkSameLength(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new Error(`cannot compare ${a.length} predictions with ${b.length} targets`);
}

/** The line the marketplace turns into a metric point: {"mp":"metric","name":...,"step":...,"value":...}. */
export function metricLine(name: string, step: number, value: number): string {
  return JSON.stringify({ mp: 'metric', name, step, value });
}
