import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { DomainError, type FieldProblem } from '../../domain-error';
import { packageRoot } from '../../paths';
import type { HyperparameterValue } from './training-run.entity';
import { HyperparameterType, ModelTask } from '../../../generated/schema-types';
import type { TrainingTemplate as SchemaTrainingTemplate } from '../../../generated/server-types';

/** The SDL's TrainingTemplate, as the resolver returns it. */
export type TrainingTemplate = Omit<SchemaTrainingTemplate, '__typename' | 'hyperparameters'> & {
  hyperparameters: Omit<SchemaTrainingTemplate['hyperparameters'][number], '__typename'>[];
};

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

/** What a template's package.json declares under "mp". */
interface TemplateManifest {
  kind?: unknown;
  task?: unknown;
  tasks?: unknown;
  hyperparameters?: Record<string, DeclaredHyperparameter>;
}

function packageOf(name: string): { description?: unknown; mp?: TemplateManifest } {
  return JSON.parse(readFileSync(path.join(templateDir(name), 'package.json'), 'utf8')) as { description?: unknown; mp?: TemplateManifest };
}

function manifestOf(name: string): TemplateManifest {
  return packageOf(name).mp ?? {};
}

/** Serving templates (`"kind": "inference"`, for mp deploy) are not training programs. */
function isTrainingTemplate(name: string): boolean {
  try {
    return manifestOf(name).kind !== 'inference';
  } catch {
    return false;
  }
}

export function trainingTemplateNames(): string[] {
  return templateNames().filter(isTrainingTemplate);
}

/** The template a training spec names, or a DomainError on spec.template that lists the training templates. */
export function trainingTemplateDir(name: string): string {
  const known = trainingTemplateNames();
  if (!known.includes(name)) {
    const choices = known.join(', ') || '(none installed)';
    const what = templateNames().includes(name) ? `${name} is a serving template (mp deploy), not a training program` : `unknown template ${name}`;
    throw new DomainError('BAD_USER_INPUT', `${what}: use one of ${choices}`, {
      fields: [{ field: 'spec.template', message: `${what}: use one of ${choices} (mp train templates)` }],
    });
  }
  return templateDir(name);
}

export function declaredHyperparameters(name: string): Record<string, DeclaredHyperparameter> | null {
  return manifestOf(name).hyperparameters ?? null;
}

/** The tasks a template trains models for ("mp": {"task": "SIGNAL"} or {"tasks": [...]}); null when it declares none (any task). */
export function declaredTasks(name: string): ModelTask[] | null {
  const { task, tasks } = manifestOf(name);
  const listed = Array.isArray(tasks) ? tasks : typeof task === 'string' ? [task] : null;
  if (!listed) return null;
  const known = Object.values(ModelTask) as string[];
  return listed.filter((entry): entry is ModelTask => typeof entry === 'string' && known.includes(entry));
}

const HYPERPARAMETER_TYPES: Record<DeclaredHyperparameter['type'], HyperparameterType> = {
  number: HyperparameterType.Number,
  integer: HyperparameterType.Integer,
  boolean: HyperparameterType.Boolean,
  string: HyperparameterType.String,
};

/** Every training template with its tasks and declared hyperparameters (a template whose package.json cannot be read is left out). */
export function trainingTemplates(): TrainingTemplate[] {
  return trainingTemplateNames().flatMap((name) => {
    try {
      const { description } = packageOf(name);
      return [
        {
          name,
          description: typeof description === 'string' ? description : null,
          tasks: declaredTasks(name) ?? [],
          hyperparameters: Object.entries(declaredHyperparameters(name) ?? {}).map(([parameter, rule]) => ({
            name: parameter,
            type: HYPERPARAMETER_TYPES[rule.type] ?? HyperparameterType.String,
            default: rule.default ?? null,
            min: rule.min ?? null,
            max: rule.max ?? null,
            description: rule.description ?? null,
          })),
        },
      ];
    } catch {
      return [];
    }
  });
}

/** Check values against the template's declarations: unknown names, wrong types, out of range. */
export function validateHyperparameters(template: string, values: { name: string; value: HyperparameterValue }[]): FieldProblem[] {
  const declared = declaredHyperparameters(template);
  const problems: FieldProblem[] = [];
  const seen = new Set<string>();
  for (const { name, value } of values) {
    const field = `spec.hyperparameters.${name}`;
    if (seen.has(name)) {
      problems.push({ field, message: 'given twice' });
      continue;
    }
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
