import { DomainError } from '../../../domain-error';

/**
 * Daily closes of several symbols on the same dates, oldest first: `closes[symbol][k]` is the
 * close on `dates[k]`.
 */
export interface PriceHistory {
  /** YYYY-MM-DD, ascending. */
  readonly dates: readonly string[];
  readonly closes: Readonly<Record<string, readonly number[]>>;
}

/**
 * Daily simple returns, symbol-major: the returns of `symbols[i]` are
 * `values[i * observations ... (i + 1) * observations - 1]`, oldest first (the layout the
 * covariance kernel reads row by row).
 */
export interface ReturnMatrix {
  readonly symbols: readonly string[];
  readonly observations: number;
  readonly values: Float64Array;
}

/** The fewest returns a covariance is estimated from (a variance needs two). */
export const MIN_RETURNS = 2;

/**
 * Simple returns close[t] / close[t-1] - 1, not log returns: a portfolio's return is the
 * weighted sum of its assets' simple returns, so mean and variance of w·r are exactly the
 * w·mu and wᵀΣw the optimizer works with (log returns do not add across assets).
 */
export function dailySimpleReturns(history: PriceHistory, symbols: readonly string[]): ReturnMatrix {
  const days = history.dates.length;
  if (days < MIN_RETURNS + 1) {
    throw new DomainError(
      'PRECONDITION_FAILED',
      `the price history has ${days} day(s); the covariance needs at least ${MIN_RETURNS + 1} daily closes (${MIN_RETURNS} returns)`,
    );
  }
  const observations = days - 1;
  const values = new Float64Array(symbols.length * observations);
  symbols.forEach((symbol, i) => {
    const closes = Object.hasOwn(history.closes, symbol) ? history.closes[symbol] : undefined;
    if (!closes) throw new DomainError('PRECONDITION_FAILED', `there is no price history for ${symbol}; optimize only symbols the round has prices for`);
    if (closes.length !== days) {
      throw new DomainError(
        'PRECONDITION_FAILED',
        `the price history of ${symbol} has ${closes.length} closes for ${days} dates; align the series on common dates`,
      );
    }
    for (let k = 0; k < days; k += 1) {
      const close = closes[k];
      if (!Number.isFinite(close) || close <= 0) {
        throw new DomainError('PRECONDITION_FAILED', `the close of ${symbol} on ${history.dates[k]} is ${close}; closes must be positive numbers`);
      }
      if (k > 0) values[i * observations + k - 1] = close / closes[k - 1] - 1;
    }
  });
  return { symbols, observations, values };
}

/**
 * A PriceHistory from rows of (symbol, date, close), such as a round's price file, keeping
 * only the dates on which every one of `symbols` has a close, so the returns line up.
 */
export function priceHistoryFromRows(rows: Iterable<{ symbol: string; date: string; close: number }>, symbols: readonly string[]): PriceHistory {
  const wanted = new Set(symbols);
  const bySymbol = new Map<string, Map<string, number>>();
  for (const row of rows) {
    if (!wanted.has(row.symbol)) continue;
    let series = bySymbol.get(row.symbol);
    if (!series) bySymbol.set(row.symbol, (series = new Map()));
    series.set(row.date, row.close);
  }
  for (const symbol of symbols) {
    if (!bySymbol.has(symbol))
      throw new DomainError('PRECONDITION_FAILED', `there is no price history for ${symbol}; optimize only symbols the round has prices for`);
  }
  const [first, ...others] = symbols.map((symbol) => bySymbol.get(symbol) as Map<string, number>);
  const dates = [...(first?.keys() ?? [])].filter((date) => others.every((series) => series.has(date))).sort();
  const closes: Record<string, number[]> = {};
  for (const symbol of symbols) {
    const series = bySymbol.get(symbol) as Map<string, number>;
    closes[symbol] = dates.map((date) => series.get(date) as number);
  }
  return { dates, closes };
}
