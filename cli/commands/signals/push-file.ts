import { readFileSync } from 'node:fs';
import path from 'node:path';
import { usageError } from '../../errors';

/** One prediction read from a push file, as pushSignals takes it. */
export interface PushedSignal {
  symbol: string;
  asOf: string;
  horizonDays: number;
  score: number;
  confidence: number;
}

/** Column names a push file may use for each field (Numerai Signals files say `signal`, and `date` or `friday_date`). */
const ALIASES = {
  symbol: ['symbol', 'ticker', 'numerai_ticker', 'bloomberg_ticker'],
  asOf: ['asof', 'as_of', 'date', 'friday_date'],
  score: ['score', 'signal', 'prediction'],
  confidence: ['confidence'],
  horizonDays: ['horizondays', 'horizon_days', 'horizon'],
} as const;

/**
 * Reads a CSV (header row: symbol, date or asOf, score or signal; confidence and horizonDays
 * optional) or JSON file (an array of objects with the same fields, or `{ "signals": [...] }`).
 * A date without a time is taken at 21:00 UTC (after the US close). Values are passed on as
 * read: the server checks each one and says which it refuses.
 */
export function readPushFile(file: string, defaults: { horizonDays: number; confidence: number }): PushedSignal[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw usageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  const records = path.extname(file).toLowerCase() === '.json' ? jsonRecords(file, text) : csvRecords(file, text);
  if (records.length === 0) throw usageError(`${file} has no predictions`);
  const keys = Object.keys(records[0]);
  const column = (field: keyof typeof ALIASES): string | undefined => keys.find((key) => (ALIASES[field] as readonly string[]).includes(key.toLowerCase()));
  const missing = (['symbol', 'asOf', 'score'] as const).filter((field) => column(field) === undefined);
  if (missing.length > 0) {
    throw usageError(
      `${file} has no ${missing.map((field) => `${field} column (${ALIASES[field].join(' or ')})`).join(', no ')}; it has ${keys.join(', ') || 'no columns'}`,
      'A push file needs symbol, date (or asOf) and score (or signal) columns; confidence and horizonDays are optional.',
    );
  }
  const [symbolKey, asOfKey, scoreKey] = [column('symbol')!, column('asOf')!, column('score')!];
  const confidenceKey = column('confidence');
  const horizonKey = column('horizonDays');
  return records.map((record) => {
    const asOf = String(record[asOfKey] ?? '').trim();
    return {
      symbol: String(record[symbolKey] ?? '').trim(),
      asOf: /^\d{4}-\d{2}-\d{2}$/.test(asOf) ? `${asOf}T21:00:00.000Z` : asOf,
      horizonDays: horizonKey === undefined || record[horizonKey] === '' ? defaults.horizonDays : Number(record[horizonKey]),
      score: Number(record[scoreKey]),
      confidence: confidenceKey === undefined || record[confidenceKey] === '' ? defaults.confidence : Number(record[confidenceKey]),
    };
  });
}

function jsonRecords(file: string, text: string): Record<string, unknown>[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw usageError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { signals?: unknown } | null)?.signals;
  if (!Array.isArray(list) || list.some((item) => typeof item !== 'object' || item === null || Array.isArray(item))) {
    throw usageError(`${file} must hold an array of objects (or { "signals": [...] }), one per prediction`);
  }
  return list as Record<string, unknown>[];
}

function csvRecords(file: string, text: string): Record<string, string>[] {
  const lines = text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '');
  if (lines.length === 0) return [];
  if (lines.some((line) => line.includes('"'))) throw usageError(`${file}: quoted CSV fields are not supported; write plain comma-separated values`);
  const header = lines[0].split(',').map((name) => name.trim());
  return lines.slice(1).map((line, index) => {
    const cells = line.split(',');
    if (cells.length !== header.length) throw usageError(`${file} line ${index + 2} has ${cells.length} fields, the header ${header.length}`);
    return Object.fromEntries(header.map((name, i) => [name, cells[i].trim()]));
  });
}

/** Batches of at most `max` signals that never split a date (the server checks each date's coverage). */
export function batchesByDate(signals: readonly PushedSignal[], max: number): PushedSignal[][] {
  const byDate = new Map<string, PushedSignal[]>();
  for (const signal of signals) {
    const date = signal.asOf.slice(0, 10);
    byDate.set(date, [...(byDate.get(date) ?? []), signal]);
  }
  const batches: PushedSignal[][] = [];
  let current: PushedSignal[] = [];
  for (const [date, group] of [...byDate].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (group.length > max) throw usageError(`${date} has ${group.length} predictions; one date may have at most ${max}`);
    if (current.length + group.length > max) {
      batches.push(current);
      current = [];
    }
    current.push(...group);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
