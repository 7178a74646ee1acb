/**
 * Reading a dataset round's CSV files (train.csv, validation.csv, live.csv) without ever holding
 * a whole file in one string: the file is read in 64 KiB chunks, split into records as they
 * arrive, and the numbers go straight into typed arrays (4 bytes per value).
 *
 * The files look like this (live.csv has no `target` column):
 *
 *   symbol,date,return_1d,return_5d,...,drawdown_20d,target
 *   SPX,2016-03-18,0.5123,0.2,...,0.9,0.75
 *
 * Every column other than `symbol`, `date` and `target` is a feature; features are matched by
 * name, so validation.csv and live.csv may order their columns differently from train.csv.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A problem with the data itself: a missing file, a malformed line, no rows. Exit code 1. */
export class DataError extends Error {
  override readonly name = 'DataError';
}

/** Columns that are never features. */
export const ID_COLUMNS = ['symbol', 'date'] as const;
export const TARGET_COLUMN = 'target';

/** A record longer than this is treated as a broken file rather than buffered forever. */
const MAX_RECORD_CHARS = 1 << 20;

export interface CsvRecord {
  /** 1-based line on which the record starts. */
  line: number;
  fields: string[];
}

/**
 * Streams the records of a CSV file (RFC 4180: comma separated, optional double quotes, `""` is
 * one quote inside quotes, quoted fields may hold commas and line breaks, LF or CRLF line ends).
 * A byte-order mark and blank lines are skipped; a line break inside a quoted field is read as
 * "\n". Memory use is one record, not one file.
 */
export async function* readCsvRecords(file: string): AsyncGenerator<CsvRecord, void, undefined> {
  const name = path.basename(file);
  const stream = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 16 });
  let pending = ''; // an incomplete line carried over from the previous chunk
  let record = ''; // a record whose quoted field spans lines
  let quotes = 0; // double quotes seen in `record`; odd means a quoted field is still open
  let line = 0; // physical lines consumed
  let recordLine = 0;
  let first = true;

  function* takeLine(text: string): Generator<CsvRecord> {
    line += 1;
    const body = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (record === '' && quotes === 0) {
      recordLine = line;
      record = body;
    } else {
      record += `\n${body}`;
    }
    quotes += countQuotes(body);
    if (record.length > MAX_RECORD_CHARS) {
      throw new DataError(`${name} line ${recordLine}: a record is longer than ${MAX_RECORD_CHARS} characters; the file is not a round CSV`);
    }
    if (quotes % 2 === 1) return; // the quoted field continues on the next line
    const complete = record;
    record = '';
    quotes = 0;
    if (complete.trim() === '') return;
    yield { line: recordLine, fields: splitRecord(complete, name, recordLine) };
  }

  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      let text = pending + chunk;
      if (first) {
        if (text.startsWith('\uFEFF')) text = text.slice(1);
        first = false;
      }
      let start = 0;
      for (let end = text.indexOf('\n', start); end !== -1; end = text.indexOf('\n', start)) {
        yield* takeLine(text.slice(start, end));
        start = end + 1;
      }
      pending = text.slice(start);
      if (pending.length > MAX_RECORD_CHARS) {
        throw new DataError(`${name} line ${line + 1}: a line is longer than ${MAX_RECORD_CHARS} characters; the file is not a round CSV`);
      }
    }
    if (pending !== '' || record !== '') yield* takeLine(pending);
    if (quotes % 2 === 1) {
      throw new DataError(`${name} line ${recordLine}: a quoted field is never closed (a double quote is missing)`);
    }
  } catch (error) {
    throw fileError(error, file);
  } finally {
    stream.destroy();
  }
}

function countQuotes(text: string): number {
  let count = 0;
  for (let i = text.indexOf('"'); i !== -1; i = text.indexOf('"', i + 1)) count += 1;
  return count;
}

/** Splits one complete record into fields. Unquoted records (the common case) take a fast path. */
export function splitRecord(text: string, name: string, line: number): string[] {
  if (!text.includes('"')) return text.split(',');
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let value = '';
      i += 1;
      for (;;) {
        const quote = text.indexOf('"', i);
        if (quote === -1) throw new DataError(`${name} line ${line}: a quoted field is never closed`);
        value += text.slice(i, quote);
        if (text[quote + 1] === '"') {
          value += '"';
          i = quote + 2;
        } else {
          i = quote + 1;
          break;
        }
      }
      if (i < text.length && text[i] !== ',') {
        throw new DataError(`${name} line ${line}: text follows the closing quote of field ${fields.length + 1}`);
      }
      fields.push(value);
    } else {
      const comma = text.indexOf(',', i);
      const end = comma === -1 ? text.length : comma;
      const value = text.slice(i, end);
      if (value.includes('"')) {
        throw new DataError(`${name} line ${line}: field ${fields.length + 1} has a double quote but is not quoted`);
      }
      fields.push(value);
      i = end;
    }
    if (i >= text.length) return fields;
    i += 1; // the comma
    if (i === text.length) {
      fields.push('');
      return fields;
    }
  }
}

function fileError(error: unknown, file: string): Error {
  if (error instanceof DataError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const dir = path.dirname(file);
  const name = path.basename(file);
  if (code === 'ENOENT') {
    return new DataError(
      `${name} not found in ${dir}: run \`mp data pull --dir ${dir}\` first, or set MP_DATA_DIR to the directory that holds the round's files`,
    );
  }
  if (code === 'EISDIR') return new DataError(`${file} is a directory, not a CSV file`);
  if (code === 'EACCES') return new DataError(`${file} cannot be read (permission denied)`);
  return new DataError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
}

/** The rows of one round file, features row-major in one typed array. */
export interface RoundTable {
  /** File name, for messages: train.csv */
  name: string;
  featureNames: string[];
  rows: number;
  /** rows x featureNames.length values, row-major. */
  features: Float32Array;
  /** One target per row, or null for a file without targets (live.csv). */
  target: Float32Array | null;
  /** Kept only when asked for (live.csv, for the predictions file). */
  symbols: string[] | null;
  dates: string[] | null;
}

export interface ReadTableOptions {
  /** The file must have a numeric `target` column (train.csv, validation.csv). */
  requireTarget: boolean;
  /** Keep the symbol and date of every row (and require those columns). */
  keepIds: boolean;
  /** The features the model was trained on; the file must have each of them. Default: every non-id column. */
  featureNames?: readonly string[];
}

/** Grows a Float32Array by doubling, so that a file of unknown length fills it in amortized O(1). */
class FloatColumn {
  private data: Float32Array;
  length = 0;

  constructor(capacity: number) {
    this.data = new Float32Array(Math.max(capacity, 16));
  }

  push(value: number): void {
    if (this.length === this.data.length) {
      const next = new Float32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = value;
  }

  values(): Float32Array {
    return this.data.subarray(0, this.length);
  }
}

/** Reads a round file into a RoundTable, checking every value; throws DataError naming the file and line. */
export async function readRoundTable(file: string, options: ReadTableOptions): Promise<RoundTable> {
  const name = path.basename(file);
  let header: string[] | null = null;
  let featureIndex: number[] = [];
  let featureNames: string[] = [];
  let targetIndex = -1;
  let symbolIndex = -1;
  let dateIndex = -1;
  const features = new FloatColumn(1 << 14);
  const target = new FloatColumn(1 << 10);
  const symbols: string[] = [];
  const dates: string[] = [];
  let rows = 0;

  for await (const record of readCsvRecords(file)) {
    if (header === null) {
      header = record.fields.map((field) => field.trim());
      const seen = new Set<string>();
      for (const column of header) {
        if (column === '') throw new DataError(`${name} line ${record.line}: the header has an empty column name`);
        if (seen.has(column)) throw new DataError(`${name} line ${record.line}: the header names column "${column}" twice`);
        seen.add(column);
      }
      targetIndex = header.indexOf(TARGET_COLUMN);
      symbolIndex = header.indexOf('symbol');
      dateIndex = header.indexOf('date');
      if (options.requireTarget && targetIndex === -1) {
        throw new DataError(`${name} has no "${TARGET_COLUMN}" column (its columns: ${header.join(', ')}); it is not a labeled round file`);
      }
      if (options.keepIds && (symbolIndex === -1 || dateIndex === -1)) {
        throw new DataError(`${name} needs "symbol" and "date" columns (its columns: ${header.join(', ')})`);
      }
      const columns: string[] = header;
      featureNames = options.featureNames
        ? [...options.featureNames]
        : columns.filter((column) => column !== TARGET_COLUMN && !(ID_COLUMNS as readonly string[]).includes(column));
      const missing = featureNames.filter((feature) => !columns.includes(feature));
      if (missing.length > 0) {
        throw new DataError(`${name} lacks feature column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} that train.csv has`);
      }
      if (featureNames.length === 0) throw new DataError(`${name} has no feature columns (its columns: ${header.join(', ')})`);
      featureIndex = featureNames.map((feature) => columns.indexOf(feature));
      continue;
    }
    const { fields, line } = record;
    if (fields.length !== header.length) {
      throw new DataError(`${name} line ${line}: ${fields.length} fields, but the header has ${header.length}`);
    }
    for (let f = 0; f < featureIndex.length; f++) {
      features.push(parseValue(fields[featureIndex[f]], featureNames[f], name, line));
    }
    if (targetIndex !== -1 && options.requireTarget) {
      target.push(parseValue(fields[targetIndex], TARGET_COLUMN, name, line));
    }
    if (options.keepIds) {
      symbols.push(fields[symbolIndex]);
      dates.push(fields[dateIndex]);
    }
    rows += 1;
  }
  if (header === null) throw new DataError(`${name} is empty: it needs a header line and at least one row`);
  if (rows === 0) throw new DataError(`${name} has a header but no rows`);
  return {
    name,
    featureNames,
    rows,
    features: features.values(),
    target: options.requireTarget ? target.values() : null,
    symbols: options.keepIds ? symbols : null,
    dates: options.keepIds ? dates : null,
  };
}

function parseValue(text: string, column: string, name: string, line: number): number {
  const trimmed = text.trim();
  const value = trimmed === '' ? Number.NaN : Number(trimmed);
  if (!Number.isFinite(value)) {
    throw new DataError(`${name} line ${line}: "${column}" is ${trimmed === '' ? 'empty' : `"${trimmed}"`}, not a number`);
  }
  return value;
}

/** What `mp data pull` writes beside the files (round.json); only the round number is used here. */
export function readRoundNumber(dataDir: string): number | null {
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(dataDir, 'round.json'), 'utf8')) as { round?: unknown };
    return typeof manifest.round === 'number' && Number.isInteger(manifest.round) ? manifest.round : null;
  } catch {
    return null; // no manifest (files copied by hand): the round is unknown
  }
}

/** Quotes a CSV field only when it must be. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
