import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CommandModule } from 'yargs';
import { execute } from '../execute';
import type { GlobalArgs } from '../global-options';
import type { Io } from '../io';
import { makeDirectory } from '../make-directory';

export interface InitArgs extends GlobalArgs {
  /** Where to create the project; default ./<template>. */
  dir?: string;
  template?: string;
  list: boolean;
  force: boolean;
}

export interface TemplateInfo {
  name: string;
  description: string;
  /** Absolute path of the template's directory. */
  dir: string;
}

/** Never copied out of a template directory (left behind by someone trying it in place). */
const SKIPPED = new Set(['node_modules', 'out', 'data', 'dist', '.DS_Store', 'test_input.json']);
/** npm drops `.gitignore` from published packages, so templates keep it as `_gitignore`. */
const RENAMED: Record<string, string> = { _gitignore: '.gitignore' };

/** The nearest directory at or above `start` that has a package.json, or null. */
export function findPackageRoot(start: string): string | null {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return null;
  }
}

/**
 * Where the templates are: `cli/templates` of the package this file belongs to, found by walking
 * up to its package.json. Works from the sources (cli/commands/init.ts) and from the compiled
 * package (dist/cli/commands/init.js), as long as the package ships `cli/templates`.
 */
export function templatesDir(fromDir: string = __dirname): string {
  const { CliError, ExitCode } = require('../errors') as typeof import('../errors');
  const root = findPackageRoot(fromDir);
  const dir = root ? path.join(root, 'cli', 'templates') : null;
  if (!dir || !fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new CliError(`this installation of mp has no templates (looked in ${dir ?? `the directories above ${fromDir}`})`, ExitCode.UNEXPECTED, {
      hint: 'Reinstall mp; its package must include cli/templates.',
    });
  }
  return dir;
}

/** Every sub-directory with a package.json is a template; its description (one line) comes from there. */
export function listTemplates(dir: string): TemplateInfo[] {
  const templates: TemplateInfo[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const templateDir = path.join(dir, entry.name);
    let description = '';
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(templateDir, 'package.json'), 'utf8')) as { description?: unknown };
      if (typeof pkg.description === 'string') description = pkg.description.replace(/\s+/g, ' ').trim();
    } catch {
      continue; // not a template
    }
    templates.push({ name: entry.name, description, dir: templateDir });
  }
  return templates.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Files of a template, relative to it, with `_gitignore` already renamed; directories first-to-last. */
function templateFiles(dir: string, prefix = ''): { from: string; to: string }[] {
  const files: { from: string; to: string }[] = [];
  const entries = fs.readdirSync(path.join(dir, prefix), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    if (SKIPPED.has(entry.name)) continue;
    const relative = path.join(prefix, entry.name);
    if (entry.isDirectory()) files.push(...templateFiles(dir, relative));
    else if (entry.isFile()) files.push({ from: relative, to: path.join(prefix, RENAMED[entry.name] ?? entry.name) });
  }
  return files;
}

/** A package name npm accepts, from the directory's name; null when there is none to make. */
export function packageNameFor(dir: string): string | null {
  const name = path
    .basename(path.resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9._~-]+/g, '-')
    .replace(/^[._-]+/, '')
    .replace(/-+$/, '')
    .slice(0, 214);
  return name === '' ? null : name;
}

/** Gives the new project its own name in package.json and package-lock.json. */
function renamePackage(target: string, name: string): void {
  for (const file of ['package.json', 'package-lock.json']) {
    const full = path.join(target, file);
    if (!fs.existsSync(full)) continue;
    const json = JSON.parse(fs.readFileSync(full, 'utf8')) as { name?: string; packages?: Record<string, { name?: string }> };
    json.name = name;
    if (json.packages?.['']) json.packages[''].name = name;
    fs.writeFileSync(full, `${JSON.stringify(json, null, 2)}\n`);
  }
}

interface NextSteps {
  steps: string[];
  /** What the project's README.md explains, for the last line. */
  readme: string;
}

/**
 * What to do after `mp init`, by the kind of project the template's package.json declares
 * (`"mp": {"kind": "inference"}` for a serving template; a training program otherwise).
 */
export function nextStepsFor(templateDir: string, cd: string): NextSteps {
  let kind: unknown;
  try {
    kind = (JSON.parse(fs.readFileSync(path.join(templateDir, 'package.json'), 'utf8')) as { mp?: { kind?: unknown } }).mp?.kind;
  } catch {
    kind = undefined;
  }
  if (kind === 'inference') {
    return { steps: [cd, 'npm install', 'mp dev'], readme: 'the HTTP contract, the environment, heartbeats and signals, and how to deploy it on RunPod' };
  }
  return { steps: [cd, 'npm install', 'mp data pull --dir ./data', 'npm start'], readme: 'the environment, the metric lines and how to run it on RunPod' };
}

/** How to reach `target` from the current directory: relative when it is below it. */
function displayPath(target: string, cwd: string): string {
  const relative = path.relative(cwd, target);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : target;
}

/** A path as one shell word, for the `cd` line. */
function shellWord(text: string): string {
  return /[^\w@%+=:,./-]/.test(text) ? `'${text.replace(/'/g, `'\\''`)}'` : text;
}

export async function run(args: InitArgs, io: Io): Promise<void> {
  const { CliError, ExitCode, usageError } = require('../errors') as typeof import('../errors');
  const { Output } = require('../output') as typeof import('../output');
  const out = new Output(io, args);
  const templates = listTemplates(templatesDir());
  const names = templates.map((template) => template.name).join(', ');

  if (args.list) {
    if (out.json) out.data(templates.map(({ name, description }) => ({ name, description })));
    else
      out.table(
        [
          { header: 'template', value: (t: TemplateInfo) => t.name },
          { header: 'description', value: (t: TemplateInfo) => t.description },
        ],
        templates,
      );
    return;
  }
  if (!args.template) {
    throw usageError('choose a template with --template', `Templates: ${names}. Run \`mp init --list\` to see what each one is.`);
  }
  const template = templates.find((candidate) => candidate.name === args.template);
  if (!template) {
    throw usageError(`unknown template "${args.template}"`, `Templates: ${names}. Run \`mp init --list\` to see what each one is.`);
  }

  const cwd = process.cwd();
  const target = path.resolve(cwd, args.dir ?? template.name);
  const shown = displayPath(target, cwd);
  const existing = fs.statSync(target, { throwIfNoEntry: false });
  if (existing && !existing.isDirectory()) {
    throw new CliError(`${shown} exists and is not a directory`, ExitCode.INVALID, { hint: 'Choose another directory.' });
  }
  if (existing && !args.force) {
    const entries = fs.readdirSync(target);
    if (entries.length > 0) {
      throw new CliError(`${shown} is not empty (${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}); nothing was written`, ExitCode.INVALID, {
        hint: 'Choose a new or empty directory, or pass --force to write the template over it (files the template does not have are kept).',
      });
    }
  }
  const relativeToTemplate = path.relative(template.dir, target);
  if (relativeToTemplate === '' || (!relativeToTemplate.startsWith('..') && !path.isAbsolute(relativeToTemplate))) {
    throw new CliError(`${shown} is inside the template itself; choose a directory elsewhere`, ExitCode.INVALID);
  }

  const files = templateFiles(template.dir);
  const overwritten: string[] = [];
  for (const file of files) {
    const destination = fs.statSync(path.join(target, file.to), { throwIfNoEntry: false });
    if (destination?.isDirectory()) {
      throw new CliError(`${path.join(shown, file.to)} is a directory, but the template has a file there; nothing was written`, ExitCode.INVALID);
    }
    if (destination) overwritten.push(file.to);
  }
  try {
    for (const file of files) {
      const destination = path.join(target, file.to);
      makeDirectory(path.dirname(destination));
      fs.copyFileSync(path.join(template.dir, file.from), destination);
    }
    const packageName = packageNameFor(target);
    if (packageName) renamePackage(target, packageName);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'ENOSPC' ? 'the disk is full' : (error as Error).message;
    throw new CliError(`cannot write ${shown}: ${reason}`, ExitCode.INVALID, { cause: error });
  }

  const { steps: nextSteps, readme } = nextStepsFor(template.dir, `cd ${shellWord(shown)}`);
  if (out.json) {
    out.data({ template: template.name, dir: target, files: files.map((file) => file.to), overwritten, nextSteps });
    return;
  }
  out.success(`Created ${shown} from template ${template.name} (${files.length} files)`);
  if (overwritten.length > 0) out.warn(`Overwrote ${overwritten.length} existing file${overwritten.length === 1 ? '' : 's'}: ${overwritten.join(', ')}`);
  out.line('');
  out.line('Next steps:');
  for (const step of nextSteps) out.line(`  ${step}`);
  out.line('');
  out.line(`${path.join(shown, 'README.md')} explains ${readme}.`);
}

const initCommand: CommandModule<GlobalArgs, InitArgs> = {
  command: 'init [dir]',
  describe: 'Create a model project from a template (a training program or an inference endpoint you can change)',
  builder: (yargs) =>
    yargs
      .positional('dir', { type: 'string', describe: 'Where to create it (default: ./<template>); must be new or empty' })
      .option('template', { type: 'string', requiresArg: true, describe: 'Which template (see --list)' })
      .option('list', { type: 'boolean', default: false, describe: 'List the templates and exit' })
      .option('force', { type: 'boolean', default: false, describe: 'Write into a non-empty directory, overwriting files the template has' })
      .example('$0 init --template runpod-signal-train my-model', 'A training program for a SIGNAL model in ./my-model')
      .example('$0 init --template runpod-signal-http my-endpoint', 'An inference endpoint serving a SIGNAL model; run it with `mp dev`')
      .example('$0 init --list', 'The available templates'),
  handler: (args) => execute(args, run),
};

export default initCommand;
