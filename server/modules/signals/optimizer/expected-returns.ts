/** Grinold's rule of thumb for a skilful but modest signal: a 0.05 rank correlation with the next return. */
export const DEFAULT_INFORMATION_COEFFICIENT = 0.05;

export interface ExpectedReturnInputs {
  /** The consensus score of each symbol, in [0, 1]. */
  readonly scores: ArrayLike<number>;
  /** How sure the consensus is of each score, in [0, 1]; all 1 when omitted. */
  readonly confidences?: ArrayLike<number>;
  /** Each symbol's daily volatility (standard deviation of its daily returns). */
  readonly volatilities: ArrayLike<number>;
  readonly informationCoefficient?: number;
}

/**
 * Daily expected returns from scores by Grinold's "alpha = IC × volatility × score", with the
 * score made a standard one first: the scores' ranks (ties share their mean rank), centred
 * and divided by their standard deviation, so they have mean 0 and variance 1 across the
 * symbols. Ranks rather than raw scores because consensus scores are not calibrated returns:
 * only their order across symbols carries information (Numerai Signals scores ranks too).
 * Confidence scales each alpha toward 0. With one symbol, or all scores equal, every expected
 * return is 0.
 */
export function expectedReturnsFromScores(inputs: ExpectedReturnInputs): Float64Array {
  const { scores, confidences, volatilities } = inputs;
  const ic = inputs.informationCoefficient ?? DEFAULT_INFORMATION_COEFFICIENT;
  const z = standardizedRanks(scores);
  const out = new Float64Array(scores.length);
  for (let i = 0; i < scores.length; i += 1) out[i] = ic * volatilities[i] * z[i] * (confidences ? confidences[i] : 1);
  return out;
}

/** Mean ranks (1-based, ties averaged), centred, divided by their population standard deviation. */
export function standardizedRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(n);
  for (let start = 0; start < n;) {
    let end = start + 1;
    while (end < n && values[order[end]] === values[order[start]]) end += 1;
    const meanRank = (start + 1 + end) / 2;
    for (let k = start; k < end; k += 1) ranks[order[k]] = meanRank;
    start = end;
  }
  const mean = (n + 1) / 2;
  let squares = 0;
  for (let i = 0; i < n; i += 1) squares += (ranks[i] - mean) ** 2;
  const sd = Math.sqrt(squares / n);
  const out = new Float64Array(n);
  if (sd === 0) return out;
  for (let i = 0; i < n; i += 1) out[i] = (ranks[i] - mean) / sd;
  return out;
}
