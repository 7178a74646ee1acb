import { usageError } from './errors';

/** The part of yargs' parsed option table this check reads (yargs has getOptions(); @types/yargs does not declare it). */
export interface ParsedOptions {
  key: Record<string, unknown>;
  array: string[];
  boolean: string[];
  count: string[];
  alias: Record<string, string[]>;
}

/** How often `names` (a flag and its aliases) appear among the arguments before `--`. */
function occurrences(argv: readonly string[], names: readonly string[]): number {
  const end = argv.indexOf('--');
  let seen = 0;
  for (const arg of end === -1 ? argv : argv.slice(0, end)) {
    const flag = arg.split('=', 1)[0];
    if (names.some((name) => flag === (name.length === 1 ? `-${name}` : `--${name}`))) seen += 1;
  }
  return seen;
}

/**
 * `--name a --name b` gives yargs an array for a single-value flag, which commands would
 * otherwise see as a strange value or silently reduce to one. Counted on the command line,
 * since a default may be an array. A repeated boolean is harmless (the last one wins).
 */
export function rejectRepeatedFlags(argv: readonly string[], args: Record<string, unknown>, options: ParsedOptions, hint: string): void {
  const multiple = new Set([...options.array, ...options.boolean, ...options.count]);
  const aliases = new Set(Object.values(options.alias).flat());
  for (const name of Object.keys(options.key)) {
    if (multiple.has(name) || aliases.has(name)) continue;
    const count = occurrences(argv, [name, ...(options.alias[name] ?? [])]);
    if (count < 2) continue;
    const flag = name.length === 1 ? `-${name}` : `--${name}`;
    const value = args[name];
    const values = Array.isArray(value) && value.length === count ? ` (${value.map((item) => JSON.stringify(String(item))).join(', ')})` : '';
    throw usageError(`${flag} was given more than once${values}: give it once`, hint);
  }
}
