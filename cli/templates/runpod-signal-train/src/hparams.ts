/**
 * Hyperparameters. They are declared once, in package.json under "mp.hyperparameters", with a
 * type (number, integer, boolean or string), a default and optional min/max. The marketplace
 * reads the same declaration to check `mp train start --hp name=value` before a run is queued;
 * this file checks them again when the program starts (MP_HPARAMS, or the RunPod job input).
 *
 * To add one: declare it in package.json, add it to `TrainingHyperparameters` in model.ts, and
 * use it. An undeclared name or a value of the wrong type stops the program with exit code 2.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TrainingHyperparameters } from './model';

/** Bad configuration (a hyperparameter, an environment variable). Exit code 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export type HyperparameterType = 'number' | 'integer' | 'boolean' | 'string';
export type HyperparameterValue = number | boolean | string;

export interface HyperparameterDeclaration {
  type: HyperparameterType;
  default: HyperparameterValue;
  min?: number;
  max?: number;
  description?: string;
}

export type HyperparameterDeclarations = Record<string, HyperparameterDeclaration>;

const TYPES: readonly HyperparameterType[] = ['number', 'integer', 'boolean', 'string'];

/** The declarations in this template's package.json ("mp.hyperparameters"). */
export function loadDeclarations(packageJson = path.join(__dirname, '..', 'package.json')): HyperparameterDeclarations {
  let pkg: unknown;
  try {
    pkg = JSON.parse(fs.readFileSync(packageJson, 'utf8'));
  } catch (error) {
    throw new ConfigError(`cannot read the hyperparameter declarations in ${packageJson}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const declared = (pkg as { mp?: { hyperparameters?: unknown } } | null)?.mp?.hyperparameters;
  if (typeof declared !== 'object' || declared === null || Array.isArray(declared)) {
    throw new ConfigError(`${packageJson} has no "mp": { "hyperparameters": { ... } } object`);
  }
  const declarations: HyperparameterDeclarations = {};
  for (const [name, raw] of Object.entries(declared as Record<string, unknown>)) {
    const where = `${packageJson}: hyperparameter "${name}"`;
    if (typeof raw !== 'object' || raw === null) throw new ConfigError(`${where} must be an object with a type and a default`);
    const { type, min, max, description } = raw as Record<string, unknown>;
    const defaultValue = (raw as Record<string, unknown>).default;
    if (typeof type !== 'string' || !TYPES.includes(type as HyperparameterType)) {
      throw new ConfigError(`${where} has type ${JSON.stringify(type)}; use one of ${TYPES.join(', ')}`);
    }
    if (min !== undefined && typeof min !== 'number') throw new ConfigError(`${where}: min must be a number`);
    if (max !== undefined && typeof max !== 'number') throw new ConfigError(`${where}: max must be a number`);
    const declaration: HyperparameterDeclaration = {
      type: type as HyperparameterType,
      default: 0,
      min: min as number | undefined,
      max: max as number | undefined,
      description: typeof description === 'string' ? description : undefined,
    };
    const problem = checkValue(declaration, defaultValue);
    if (problem) throw new ConfigError(`${where}: its default ${JSON.stringify(defaultValue)} ${problem}`);
    declaration.default = defaultValue as HyperparameterValue;
    declarations[name] = declaration;
  }
  return declarations;
}

/** "lr (number 0..1, default 0.01)" */
export function describeDeclaration(name: string, declaration: HyperparameterDeclaration): string {
  return `${name} (${describeAccepted(declaration)}, default ${JSON.stringify(declaration.default)})`;
}

function describeAccepted(declaration: HyperparameterDeclaration): string {
  const { type, min, max } = declaration;
  if (type !== 'number' && type !== 'integer') return `a ${type}`;
  const article = type === 'integer' ? 'an integer' : 'a number';
  if (min !== undefined && max !== undefined) return `${article} from ${min} to ${max}`;
  if (min !== undefined) return `${article} of at least ${min}`;
  if (max !== undefined) return `${article} of at most ${max}`;
  return article;
}

/** Why `value` does not fit the declaration, or null when it does. */
function checkValue(declaration: HyperparameterDeclaration, value: unknown): string | null {
  const accepted = describeAccepted(declaration);
  switch (declaration.type) {
    case 'number':
    case 'integer': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return `is not ${accepted}`;
      if (declaration.type === 'integer' && !Number.isInteger(value)) return `is not ${accepted}`;
      if (declaration.min !== undefined && value < declaration.min) return `is below the minimum; use ${accepted}`;
      if (declaration.max !== undefined && value > declaration.max) return `is above the maximum; use ${accepted}`;
      return null;
    }
    case 'boolean':
      return typeof value === 'boolean' ? null : `is not ${accepted} (true or false)`;
    case 'string':
      return typeof value === 'string' ? null : `is not ${accepted}`;
  }
}

/**
 * Merges given values over the defaults. `given` is MP_HPARAMS parsed, or a job's input; `source`
 * names it in messages. Unknown names and wrong types are ConfigErrors that name the
 * hyperparameter and say what it accepts.
 */
export function resolveHyperparameters(given: unknown, declarations: HyperparameterDeclarations, source: string): Record<string, HyperparameterValue> {
  if (given === undefined || given === null) given = {};
  if (typeof given !== 'object' || Array.isArray(given)) {
    throw new ConfigError(`${source} must be a JSON object such as {"lr": 0.01, "epochs": 20}, not ${JSON.stringify(given)}`);
  }
  const accepted = Object.entries(declarations).map(([name, declaration]) => describeDeclaration(name, declaration));
  const resolved: Record<string, HyperparameterValue> = {};
  for (const [name, declaration] of Object.entries(declarations)) resolved[name] = declaration.default;
  for (const [name, value] of Object.entries(given as Record<string, unknown>)) {
    const declaration = Object.prototype.hasOwnProperty.call(declarations, name) ? declarations[name] : undefined;
    if (!declaration) {
      throw new ConfigError(`unknown hyperparameter "${name}" in ${source}; this program accepts: ${accepted.join(', ')}`);
    }
    const problem = checkValue(declaration, value);
    if (problem) {
      throw new ConfigError(`hyperparameter "${name}" is ${JSON.stringify(value)}, which ${problem}`);
    }
    resolved[name] = value as HyperparameterValue;
  }
  return resolved;
}

/** Parses MP_HPARAMS (unset or empty means all defaults). */
export function hyperparametersFromEnv(text: string | undefined, declarations: HyperparameterDeclarations): Record<string, HyperparameterValue> {
  if (text === undefined || text.trim() === '') return resolveHyperparameters({}, declarations, 'MP_HPARAMS');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      `MP_HPARAMS is not valid JSON (${error instanceof Error ? error.message : String(error)}); expected an object such as {"lr": 0.01, "epochs": 20}`,
    );
  }
  return resolveHyperparameters(parsed, declarations, 'MP_HPARAMS');
}

/** The values the model code uses, typed. Fails if package.json no longer declares one of them. */
export function trainingHyperparameters(values: Record<string, HyperparameterValue>): TrainingHyperparameters {
  const number = (name: keyof TrainingHyperparameters): number => {
    const value = values[name];
    if (typeof value !== 'number') {
      throw new ConfigError(`hyperparameter "${name}" must be declared as a number in package.json "mp.hyperparameters" (the model uses it)`);
    }
    return value;
  };
  return { lr: number('lr'), epochs: number('epochs'), l2: number('l2'), batch_size: number('batch_size'), seed: number('seed') };
}
