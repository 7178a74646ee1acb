import { MIN_SYMBOLS_FOR_CROSS_SECTION, TRAILING_RANK_ROWS } from './features';

/** A row of features before and after normalization. */
export interface FeatureRow {
  symbol: string;
  date: string;
  /** Index of the row in its symbol's price series. */
  seriesIndex: number;
  raw: number[];
  /** Normalized values (percentile ranks, 4 decimals), filled by normalizeFeatures. */
  values: number[];
}

/**
 * Fills `values` of every row with the percentile rank of its raw value within its date (see
 * NORMALIZATION_DOC): across symbols when the date has enough of them, otherwise within the
 * symbol's own trailing rows. `rowsBySymbol` holds each symbol's rows in ascending date order.
 * Nothing here reads a row dated after the row being normalized.
 */
export function normalizeFeatures(rowsBySymbol: Map<string, FeatureRow[]>): void {
  const byDate = new Map<string, FeatureRow[]>();
  for (const rows of rowsBySymbol.values()) {
    for (const row of rows) {
      const sameDate = byDate.get(row.date);
      if (sameDate) sameDate.push(row);
      else byDate.set(row.date, [row]);
    }
  }
  for (const rows of byDate.values()) {
    if (rows.length >= MIN_SYMBOLS_FOR_CROSS_SECTION) rankAcross(rows);
  }
  for (const rows of rowsBySymbol.values()) {
    rows.forEach((row, position) => {
      if ((byDate.get(row.date)?.length ?? 0) < MIN_SYMBOLS_FOR_CROSS_SECTION) rankTrailing(rows, position);
    });
  }
}

/** Cross-sectional ranks: each feature ranked among the rows of one date. */
function rankAcross(rows: FeatureRow[]): void {
  const featureCount = rows[0].raw.length;
  for (const row of rows) row.values = new Array<number>(featureCount);
  for (let f = 0; f < featureCount; f++) {
    const ranks = percentileRanks(rows.map((row) => row.raw[f]));
    rows.forEach((row, k) => {
      row.values[f] = round4(ranks[k]);
    });
  }
}

/** Trailing ranks: each feature of rows[position] ranked among the symbol's last rows, itself included. */
function rankTrailing(rows: FeatureRow[], position: number): void {
  const row = rows[position];
  const from = Math.max(0, position - TRAILING_RANK_ROWS + 1);
  row.values = row.raw.map((value, f) => {
    let below = 0;
    let equal = 0;
    for (let k = from; k <= position; k++) {
      const other = rows[k].raw[f];
      if (other < value) below++;
      else if (other === value) equal++;
    }
    return round4(rankFraction(below, equal, position - from + 1));
  });
}

/** Percentile rank of every value among all of them: lowest 0, highest 1, ties averaged. */
export function percentileRanks(values: number[]): number[] {
  const order = values.map((_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Array<number>(values.length);
  let start = 0;
  while (start < order.length) {
    let end = start;
    while (end + 1 < order.length && values[order[end + 1]] === values[order[start]]) end++;
    for (let k = start; k <= end; k++) ranks[order[k]] = rankFraction(start, end - start + 1, values.length);
    start = end + 1;
  }
  return ranks;
}

/** (values below + half of the other equal values) / (n - 1); 0.5 for a single value. */
function rankFraction(below: number, equal: number, n: number): number {
  return n <= 1 ? 0.5 : (below + (equal - 1) / 2) / (n - 1);
}

export function round4(value: number): number {
  const rounded = Math.round(value * 1e4) / 1e4;
  return rounded === 0 ? 0 : rounded;
}
