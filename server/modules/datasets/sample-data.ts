import path from 'node:path';

/**
 * The real market data round 1 is built from: daily S&P 500 2000-01-03..2020-04-17
 * (5,104 rows) in the vega-datasets package. Its `exports` hide data/, so the file is
 * found next to the package's entry point.
 */
export function sp500CsvPath(): string {
  return path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data', 'sp500-2000.csv');
}
