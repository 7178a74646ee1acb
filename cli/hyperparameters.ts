import type { HyperparameterInput } from '../generated/cli-operations';

export type HyperparameterValue = HyperparameterInput['value'];

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const EXAMPLE = 'use name=value, e.g. --hp lr=0.001';

/**
 * The typed value of `--hp name=value`: `true`/`false` are booleans, a finite decimal number
 * (`3`, `0.001`, `1e-4`, `-2`) is a number, anything else stays a string (`adam`, `0x10`).
 */
export function typedHyperparameterValue(raw: string): HyperparameterValue {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (NUMBER.test(raw)) {
    const value = Number(raw);
    if (Number.isFinite(value)) return value;
  }
  return raw;
}

/** One `--hp name=value`; throws a message naming the bad argument (yargs makes it exit 2). */
export function parseHyperparameter(argument: string): HyperparameterInput {
  const text = String(argument);
  const equals = text.indexOf('=');
  if (equals < 0) throw new Error(`invalid --hp "${text}": no "=" (${EXAMPLE})`);
  const name = text.slice(0, equals).trim();
  const raw = text.slice(equals + 1);
  if (!name) throw new Error(`invalid --hp "${text}": the name before "=" is empty (${EXAMPLE})`);
  if (!NAME.test(name)) {
    throw new Error(`invalid --hp "${text}": a name is a letter or _ followed by letters, digits, _, . or - (at most 64)`);
  }
  if (raw.length === 0) throw new Error(`invalid --hp "${text}": no value after "=" (${EXAMPLE})`);
  return { name, value: typedHyperparameterValue(raw) };
}

/** Every `--hp` (repeatable); a name given twice is an error rather than a silent override. */
export function parseHyperparameters(value: unknown): HyperparameterInput[] {
  const items = (Array.isArray(value) ? value : value === undefined ? [] : [value]).map((item) => String(item));
  const parsed = items.map(parseHyperparameter);
  const seen = new Set<string>();
  for (const { name } of parsed) {
    if (seen.has(name)) throw new Error(`--hp ${name} is given more than once`);
    seen.add(name);
  }
  return parsed;
}

/** `lr=0.001, epochs=20, optimizer="adam"`: strings quoted so "3" and 3 look different. */
export function formatHyperparameters(list: ReadonlyArray<{ name: string; value: HyperparameterValue }>): string {
  if (list.length === 0) return '-';
  return list.map(({ name, value }) => `${name}=${typeof value === 'string' ? JSON.stringify(value) : String(value)}`).join(', ');
}
