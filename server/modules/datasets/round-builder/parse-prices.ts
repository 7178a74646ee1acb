import { parseCsvRecords } from './csv';
import { isIsoDate } from './dates';
import { RoundInputError } from './errors';
import type { PriceRow } from './types';

export interface ParsePricesOptions {
  /** Symbol given to every row when the file has no symbol column; default 'SPX'. */
  symbol?: string;
  /** Name of the symbol column; default a column called `symbol` or `ticker`, if there is one. */
  symbolColumn?: string;
}

const NUMBER_COLUMNS = ['open', 'high', 'low', 'close', 'volume'] as const;
type NumberColumn = (typeof NUMBER_COLUMNS)[number];
const REQUIRED_COLUMNS = ['date', ...NUMBER_COLUMNS];
const DEFAULT_SYMBOL = 'SPX';
const DEFAULT_SYMBOL_COLUMNS = ['symbol', 'ticker'];

/**
 * Parses daily OHLCV CSV text into price rows, in file order. The header is required; column
 * names are matched case-insensitively and extra columns (such as `adjclose`) are ignored: the
 * close used is the `close` column. Every problem is a RoundInputError with its line number.
 * Rows must already be sorted by date within each symbol: they are never re-ordered silently.
 */
export function parsePricesCsv(text: string, options: ParsePricesOptions = {}): PriceRow[] {
  const records = parseCsvRecords(text);
  if (records.length === 0) {
    throw new RoundInputError(
      'the price file is empty; it needs a header line (date,open,high,low,close,volume and optionally symbol) and one row per symbol and day',
    );
  }
  const [header, ...body] = records;
  const names = header.fields.map((name) => name.trim().toLowerCase());
  const found = header.fields.map((name) => name.trim()).join(', ');
  const seenNames = new Set<string>();
  for (const name of names) {
    if (name !== '' && seenNames.has(name)) {
      throw new RoundInputError(`the header names column "${name}" twice (columns found: ${found}); rename or remove one of them`, header.line);
    }
    seenNames.add(name);
  }
  const missing = REQUIRED_COLUMNS.filter((name) => !names.includes(name));
  if (missing.length > 0) {
    throw new RoundInputError(
      `the header is missing the column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (columns found: ${found}); ` +
        'the file needs a header line with date, open, high, low, close and volume',
      header.line,
    );
  }
  const index = (name: string): number => names.indexOf(name);
  const symbolIndex = findSymbolColumn(names, found, header.line, options.symbolColumn);
  const fixedSymbol = options.symbol ?? DEFAULT_SYMBOL;
  if (symbolIndex < 0 && fixedSymbol.trim() === '') {
    throw new RoundInputError('the symbol option is empty; give the name of the symbol the file holds');
  }
  if (body.length === 0) {
    throw new RoundInputError('the price file has a header but no data rows; add one row per symbol and day', header.line);
  }

  const rows: PriceRow[] = [];
  const lineOf = new Map<string, number>();
  const lastDateOf = new Map<string, { date: string; line: number }>();
  for (const record of body) {
    const { line, fields } = record;
    if (fields.length !== names.length) {
      throw new RoundInputError(
        `the row has ${fields.length} field${fields.length === 1 ? '' : 's'} but the header has ${names.length}; ` +
          'every row needs one value per header column (quote values that contain commas)',
        line,
      );
    }
    const symbol = symbolIndex < 0 ? fixedSymbol : fields[symbolIndex].trim();
    if (symbol === '') {
      throw new RoundInputError(`the symbol column "${names[symbolIndex]}" is empty; give every row its symbol`, line);
    }
    const date = fields[index('date')].trim();
    if (!isIsoDate(date)) {
      throw new RoundInputError(`"${date}" in column "date" is not a valid date; write dates as YYYY-MM-DD, for example 2020-04-17`, line);
    }
    const number = (column: NumberColumn): number => parseNumber(fields[index(column)], column, line);
    const row: PriceRow = {
      symbol,
      date,
      open: number('open'),
      high: number('high'),
      low: number('low'),
      close: number('close'),
      volume: number('volume'),
    };
    checkValues(row, line);

    const key = `${symbol}\u0000${date}`;
    const earlierLine = lineOf.get(key);
    if (earlierLine !== undefined) {
      throw new RoundInputError(`${symbol} on ${date} appears twice (first on line ${earlierLine}); keep one row per symbol and date`, line);
    }
    const last = lastDateOf.get(symbol);
    if (last && date < last.date) {
      throw new RoundInputError(
        `${symbol} on ${date} comes after ${symbol} on ${last.date} (line ${last.line}); rows must be in ascending date order within each symbol: sort the file by date`,
        line,
      );
    }
    lineOf.set(key, line);
    lastDateOf.set(symbol, { date, line });
    rows.push(row);
  }
  return rows;
}

function findSymbolColumn(names: string[], found: string, headerLine: number, symbolColumn: string | undefined): number {
  if (symbolColumn !== undefined) {
    const position = names.indexOf(symbolColumn.trim().toLowerCase());
    if (position < 0) {
      throw new RoundInputError(
        `the symbol column "${symbolColumn}" is not in the header (columns found: ${found}); name one of these columns, or leave the symbol column out for a one-symbol file`,
        headerLine,
      );
    }
    return position;
  }
  return names.findIndex((name) => DEFAULT_SYMBOL_COLUMNS.includes(name));
}

function parseNumber(raw: string, column: NumberColumn, line: number): number {
  const text = raw.trim();
  const value = text === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(value)) {
    throw new RoundInputError(
      `${text === '' ? 'the value' : `"${text}"`} in column "${column}" is ${text === '' ? 'empty' : 'not a number'}; write a plain decimal number such as 1455.22`,
      line,
    );
  }
  return value;
}

function checkValues(row: PriceRow, line: number): void {
  for (const column of ['open', 'high', 'low', 'close'] as const) {
    if (row[column] <= 0) {
      throw new RoundInputError(`${column} is ${row[column]} but prices must be greater than 0; fix or remove this row`, line);
    }
  }
  if (row.volume < 0) {
    throw new RoundInputError(`volume is ${row.volume} but it cannot be negative; fix or remove this row`, line);
  }
  if (row.high < row.low) {
    throw new RoundInputError(`high (${row.high}) is below low (${row.low}); check that the columns are not swapped`, line);
  }
}
