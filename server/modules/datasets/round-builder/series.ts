import { isIsoDate } from './dates';
import { RoundInputError } from './errors';
import type { PriceRow } from './types';

/**
 * Groups price rows by symbol, each series ascending by date. Rows must already be in ascending
 * date order within each symbol (parsePricesCsv guarantees it); anything else, or a price that
 * could not be used, is a RoundInputError rather than a silent fix.
 */
export function groupBySymbol(prices: PriceRow[]): Map<string, PriceRow[]> {
  const bySymbol = new Map<string, PriceRow[]>();
  prices.forEach((row, position) => {
    const where = `price row ${position + 1} (${row.symbol} on ${row.date})`;
    if (row.symbol === '') throw new RoundInputError(`${where} has an empty symbol; give every row its symbol`);
    if (!isIsoDate(row.date)) throw new RoundInputError(`${where} has an invalid date; write dates as YYYY-MM-DD`);
    for (const column of ['open', 'high', 'low', 'close'] as const) {
      if (!(Number.isFinite(row[column]) && row[column] > 0)) {
        throw new RoundInputError(`${where} has ${column} ${row[column]}; prices must be numbers greater than 0`);
      }
    }
    if (!(Number.isFinite(row.volume) && row.volume >= 0)) {
      throw new RoundInputError(`${where} has volume ${row.volume}; volume must be a number of at least 0`);
    }
    const series = bySymbol.get(row.symbol);
    const previous = series?.[series.length - 1];
    if (previous && row.date <= previous.date) {
      throw new RoundInputError(
        previous.date === row.date
          ? `${where} repeats a date of the same symbol; keep one row per symbol and date`
          : `${where} comes after ${row.symbol} on ${previous.date}; rows must be in ascending date order within each symbol: sort the file by date`,
      );
    }
    if (series) series.push(row);
    else bySymbol.set(row.symbol, [row]);
  });
  return bySymbol;
}
