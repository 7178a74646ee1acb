import type { PriceRow } from '../../server/modules/datasets/round-builder';
import { random } from './random';

/** `symbols` daily random walks (seeded: the same every run) over `days` weekdays from 2024-01-01. */
export function syntheticPrices(symbols: readonly string[], days: number, seed = 7): { prices: PriceRow[]; dates: string[] } {
  const next = random(seed);
  const dates: string[] = [];
  for (const day = new Date('2024-01-01T00:00:00Z'); dates.length < days; day.setUTCDate(day.getUTCDate() + 1)) {
    if (day.getUTCDay() !== 0 && day.getUTCDay() !== 6) dates.push(day.toISOString().slice(0, 10));
  }
  const prices: PriceRow[] = [];
  for (const symbol of symbols) {
    let close = 100;
    for (const date of dates) {
      close *= 1 + (next() - 0.5) * 0.04;
      prices.push({ symbol, date, open: close, high: close * 1.01, low: close * 0.99, close, volume: 1000 + Math.floor(next() * 1000) });
    }
  }
  return { prices, dates };
}
