import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { DomainError, type FieldProblem } from '../../domain-error';
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

let extraTemplatesDir: string | undefined;

/** MP_TEMPLATES_DIR: the operator's own templates, found before the built-in ones. */
export function useExtraTemplates(dir: string | undefined): void {
  extraTemplatesDir = dir;
}

export function templatesDir(): string {
  return path.join(packageRoot(), 'cli', 'templates');
}

function templateRoots(): string[] {
  return [extraTemplatesDir, templatesDir()].filter((dir): dir is string => Boolean(dir && existsSync(dir)));
}

export function templateNames(): string[] {
  const names = templateRoots().flatMap((root) =>
    readdirSync(root, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name),
  );
  return [...new Set(names)].sort();
}

export function templateDir(name: string): string {
  const root = /^[a-z0-9][a-z0-9-]{0,63}$/.test(name) ? templateRoots().find((dir) => existsSync(path.join(dir, name, 'package.json'))) : undefined;
  if (!root) {
    throw new DomainError('BAD_USER_INPUT', `unknown template ${name}: use one of ${templateNames().join(', ') || '(none installed)'}`, {
      fields: [{ field: 'spec.template', message: 'unknown template' }],
    });
  }
  return path.join(root, name);
}

export function declaredHyperparameters(name: string): Record<string, DeclaredHyperparameter> | null {
  const pkg = JSON.parse(readFileSync(path.join(templateDir(name), 'package.json'), 'utf8')) as {
    mp?: { hyperparameters?: Record<string, DeclaredHyperparameter> };
  };
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
      rule.type === 'boolean'
        ? typeof value === 'boolean'
        : rule.type === 'string'
          ? typeof value === 'string'
          : rule.type === 'integer'
            ? typeof value === 'number' && Number.isInteger(value)
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
