import { toCsv } from './csv';
import { RoundInputError } from './errors';
import { groupBySymbol } from './series';
import { bucketTarget, forwardReturn } from './targets';
import type { PriceRow, ResolutionFile, ResolutionInput } from './types';

const RESOLUTION_COLUMNS = ['symbol', 'date', 'target', 'forward_return'];

/**
 * The resolution file of a round: for every live (symbol, date), the realized forward return over
 * the round's horizon, taken from newer prices, and its target bucket under the round's own
 * thresholds. Throws a RoundInputError when the prices do not reach far enough yet.
 */
export function buildResolution(prices: PriceRow[], round: ResolutionInput): ResolutionFile {
  const { horizonDays, targetThresholds, live } = round;
  checkThresholds(targetThresholds);
  if (live.length === 0) throw new RoundInputError('the round has no live rows, so there is nothing to resolve');
  const seriesBySymbol = groupBySymbol(prices);
  const indexOfDate = new Map<string, Map<string, number>>();
  for (const [symbol, series] of seriesBySymbol) indexOfDate.set(symbol, new Map(series.map((row, i) => [row.date, i])));

  const absent: string[] = [];
  const unresolved: { symbol: string; date: string; rowsAfter: number; lastAvailable: string }[] = [];
  const rows: string[][] = [];
  for (const { symbol, date } of live) {
    const series = seriesBySymbol.get(symbol) ?? [];
    const index = indexOfDate.get(symbol)?.get(date);
    if (index === undefined) {
      absent.push(`${symbol} on ${date}`);
      continue;
    }
    const forward = forwardReturn(series, index, horizonDays);
    if (forward === undefined) {
      unresolved.push({ symbol, date, rowsAfter: series.length - 1 - index, lastAvailable: series[series.length - 1].date });
      continue;
    }
    rows.push([symbol, date, String(bucketTarget(forward, targetThresholds)), String(Number(forward.toFixed(8)))]);
  }

  if (absent.length > 0) {
    throw new RoundInputError(
      `the prices have no row for ${absent.length} of the ${live.length} live rows (first: ${absent[0]}); ` +
        'resolve with a file that holds the same history as the round plus the newer days',
    );
  }
  if (unresolved.length > 0) {
    const latest = unresolved.reduce((a, b) => (b.date > a.date ? b : a));
    throw new RoundInputError(
      `${unresolved.length} of the ${live.length} live rows cannot be resolved yet: each needs the close ${horizonDays} trading days after its date. ` +
        `The last date needed is ${horizonDays} trading days after ${latest.date} (about ${addWeekdays(latest.date, horizonDays)}) for ${latest.symbol}, ` +
        `but its prices end at ${latest.lastAvailable} (${latest.rowsAfter} trading day${latest.rowsAfter === 1 ? '' : 's'} after it). ` +
        'Resolve again once the prices cover the whole horizon.',
    );
  }
  return { name: 'resolution.csv', columns: [...RESOLUTION_COLUMNS], rowCount: rows.length, content: toCsv(RESOLUTION_COLUMNS, rows) };
}

function checkThresholds(thresholds: number[]): void {
  const ascending = thresholds.every((value, i) => Number.isFinite(value) && (i === 0 || value >= thresholds[i - 1]));
  if (thresholds.length !== 4 || !ascending) {
    throw new RoundInputError(`the round's target thresholds [${thresholds.join(', ')}] must be 4 ascending numbers; rebuild the round`);
  }
}

/** `date` plus `days` weekdays (Monday..Friday), YYYY-MM-DD: an estimate that ignores holidays. */
function addWeekdays(date: string, days: number): string {
  const day = new Date(`${date}T00:00:00Z`);
  let left = days;
  while (left > 0) {
    day.setUTCDate(day.getUTCDate() + 1);
    const weekday = day.getUTCDay();
    if (weekday !== 0 && weekday !== 6) left--;
  }
  return day.toISOString().slice(0, 10);
}
