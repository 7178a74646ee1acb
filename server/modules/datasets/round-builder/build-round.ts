import { toCsv } from './csv';
import { RoundInputError } from './errors';
import { FEATURE_NAMES, computeRawFeatures } from './features';
import { type FeatureRow, normalizeFeatures } from './normalize';
import { groupBySymbol } from './series';
import { splitCalendar } from './splits';
import { bucketTarget, forwardReturn, quintileThresholds } from './targets';
import type { BuildRoundOptions, BuiltRound, PriceRow, RoundFile, RoundSplitKind } from './types';

const MAX_HORIZON_DAYS = 260;
const FILE_NAMES: Record<RoundSplitKind, string> = { TRAIN: 'train.csv', VALIDATION: 'validation.csv', LIVE: 'live.csv' };

interface LabeledRow {
  row: FeatureRow;
  forward: number;
}

/**
 * Builds a round's TRAIN, VALIDATION and LIVE files from daily prices: features from past data
 * only, normalized within their date; the target is the bucketed forward return over
 * `horizonDays` rows; splits by date with an embargo between them. See FEATURE_DOCS,
 * NORMALIZATION_DOC, TARGET_DOC and SPLITS_DOC for the rules.
 */
export function buildRound(prices: PriceRow[], options: BuildRoundOptions): BuiltRound {
  const { horizonDays, embargoDays, liveDays, validationFraction } = resolveOptions(options);
  if (prices.length === 0) throw new RoundInputError("there are no price rows; give at least one symbol's daily prices");
  const seriesBySymbol = groupBySymbol(prices);

  const rowsBySymbol = new Map<string, FeatureRow[]>();
  for (const [symbol, series] of seriesBySymbol) {
    const rows = computeRawFeatures(series).map(({ index, values }) => ({
      symbol,
      date: series[index].date,
      seriesIndex: index,
      raw: values,
      values: [],
    }));
    if (rows.length > 0) rowsBySymbol.set(symbol, rows);
  }
  normalizeFeatures(rowsBySymbol);

  const allRows = [...rowsBySymbol.values()].flat().sort(byDateThenSymbol);
  const calendar = [...new Set(allRows.map((row) => row.date))];
  const longestSeries = Math.max(...[...seriesBySymbol.values()].map((series) => series.length));
  const splits = splitCalendar(calendar, { embargoDays, liveDays, validationFraction }, longestSeries);
  const [, validation, live] = splits;
  const splitOf = new Map<string, RoundSplitKind>();
  for (const split of splits) for (const date of split.dates) splitOf.set(date, split.kind);

  /** Labeled rows of a split whose target uses only prices dated before `nextSplitFirstDate`. */
  const labeledRows = (kind: RoundSplitKind, nextSplitFirstDate: string): LabeledRow[] => {
    const labeled: LabeledRow[] = [];
    for (const row of allRows) {
      if (splitOf.get(row.date) !== kind) continue;
      const series = seriesBySymbol.get(row.symbol) ?? [];
      const targetRow = series[row.seriesIndex + horizonDays];
      const forward = forwardReturn(series, row.seriesIndex, horizonDays);
      if (targetRow === undefined || forward === undefined || targetRow.date >= nextSplitFirstDate) continue;
      labeled.push({ row, forward });
    }
    return labeled;
  };
  const trainRows = labeledRows('TRAIN', validation.dates[0]);
  const validationRows = labeledRows('VALIDATION', live.dates[0]);
  const liveRows = allRows.filter((row) => splitOf.get(row.date) === 'LIVE');
  if (trainRows.length === 0) {
    throw new RoundInputError('no TRAIN row has a forward return inside the TRAIN period; give each symbol a complete daily history');
  }
  const targetThresholds = quintileThresholds(trainRows.map((labeled) => labeled.forward));

  const labeledFile = (kind: RoundSplitKind, rows: LabeledRow[]): RoundFile =>
    roundFile(
      kind,
      [...FEATURE_NAMES, 'target'],
      rows.map(({ row, forward }) => [...featureCells(row), String(bucketTarget(forward, targetThresholds))]),
    );
  const files = [labeledFile('TRAIN', trainRows), labeledFile('VALIDATION', validationRows), roundFile('LIVE', FEATURE_NAMES, liveRows.map(featureCells))];
  const usedSymbols = new Set([...trainRows, ...validationRows].map(({ row }) => row.symbol));
  for (const row of liveRows) usedSymbols.add(row.symbol);

  return {
    symbols: [...usedSymbols].sort(compareText),
    horizonDays,
    featureNames: [...FEATURE_NAMES],
    splits: splits.map((split) => ({ kind: split.kind, firstDate: split.dates[0], lastDate: split.dates[split.dates.length - 1] })),
    targetThresholds,
    files,
    live: liveRows.map((row) => ({ symbol: row.symbol, date: row.date })),
  };
}

function resolveOptions(options: BuildRoundOptions): Required<BuildRoundOptions> {
  const { horizonDays } = options;
  if (!Number.isInteger(horizonDays) || horizonDays < 1 || horizonDays > MAX_HORIZON_DAYS) {
    throw new RoundInputError(`the horizon is ${horizonDays} but must be a whole number of trading days from 1 to ${MAX_HORIZON_DAYS}`);
  }
  const embargoDays = options.embargoDays ?? horizonDays;
  if (!Number.isInteger(embargoDays) || embargoDays < horizonDays) {
    throw new RoundInputError(
      `the embargo is ${embargoDays} but must be a whole number of days at least the horizon (${horizonDays}), or a target would leak into the next split`,
    );
  }
  const liveDays = options.liveDays ?? Math.max(horizonDays, 20);
  if (!Number.isInteger(liveDays) || liveDays < 1) {
    throw new RoundInputError(`the live period is ${liveDays} days but must be a whole number of at least 1`);
  }
  const validationFraction = options.validationFraction ?? 0.2;
  if (!(validationFraction > 0 && validationFraction < 1)) {
    throw new RoundInputError(`the validation fraction is ${validationFraction} but must be between 0 and 1, for example 0.2`);
  }
  return { horizonDays, embargoDays, liveDays, validationFraction };
}

function roundFile(kind: RoundSplitKind, valueColumns: string[], rows: string[][]): RoundFile {
  const columns = ['symbol', 'date', ...valueColumns];
  return { kind, name: FILE_NAMES[kind], columns, rowCount: rows.length, content: toCsv(columns, rows) };
}

function featureCells(row: FeatureRow): string[] {
  return [row.symbol, row.date, ...row.values.map(String)];
}

function byDateThenSymbol(a: FeatureRow, b: FeatureRow): number {
  return compareText(a.date, b.date) || compareText(a.symbol, b.symbol);
}

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
