import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { DomainError, type FieldProblem } from '../../errors';
import { packageRoot } from '../../paths';
import type { HyperparameterValue } from './training-run.entity';

/** A hyperparameter a template declares in its package.json under "mp.hyperparameters". */
export interface DeclaredHyperparameter {
  type: 'number' | 'integer' | 'boolean' | 'string';
  default?: HyperparameterValue;
  min?: number;
  max?: number;
  description?: string;
}

export const DEFAULT_TEMPLATE = 'runpod-signal-train';

export function templatesDir(): string {
  return path.join(packageRoot(), 'cli', 'templates');
}

export function templateNames(): string[] {
  if (!existsSync(templatesDir())) return [];
  return readdirSync(templatesDir(), { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
}

export function templateDir(name: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(name) || !templateNames().includes(name)) {
    throw new DomainError('BAD_USER_INPUT', `unknown template ${name}: use one of ${templateNames().join(', ') || '(none installed)'}`, {
      fields: [{ field: 'spec.template', message: 'unknown template' }],
    });
  }
  return path.join(templatesDir(), name);
}

export function declaredHyperparameters(name: string): Record<string, DeclaredHyperparameter> | null {
  const pkg = JSON.parse(readFileSync(path.join(templateDir(name), 'package.json'), 'utf8')) as { mp?: { hyperparameters?: Record<string, DeclaredHyperparameter> } };
  return pkg.mp?.hyperparameters ?? null;
}

/** Check values against the template's declarations: unknown names, wrong types, out of range. */
export function validateHyperparameters(template: string, values: { name: string; value: HyperparameterValue }[]): FieldProblem[] {
  const declared = declaredHyperparameters(template);
  const problems: FieldProblem[] = [];
  const seen = new Set<string>();
  for (const { name, value } of values) {
    const field = `spec.hyperparameters.${name}`;
    if (seen.has(name)) problems.push({ field, message: 'given twice' });
    seen.add(name);
    if (!declared) continue;
    const rule = declared[name];
    if (!rule) {
      problems.push({ field, message: `unknown to template ${template} (it accepts: ${Object.keys(declared).join(', ')})` });
      continue;
    }
    const typeOk =
      rule.type === 'boolean' ? typeof value === 'boolean'
      : rule.type === 'string' ? typeof value === 'string'
      : rule.type === 'integer' ? typeof value === 'number' && Number.isInteger(value)
      : typeof value === 'number';
    if (!typeOk) {
      problems.push({ field, message: `must be ${rule.type === 'integer' ? 'an integer' : `a ${rule.type}`} (got ${JSON.stringify(value)})` });
      continue;
    }
    if (typeof value === 'number' && ((rule.min !== undefined && value < rule.min) || (rule.max !== undefined && value > rule.max))) {
      problems.push({ field, message: `must be between ${rule.min ?? '-∞'} and ${rule.max ?? '∞'} (got ${value})` });
    }
  }
  return problems;
}
