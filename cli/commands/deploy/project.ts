/**
 * Where `mp deploy` takes its default name from: the current directory must be a serving
 * template's project, as `mp init --template runpod-signal-http` makes one (a package.json whose
 * "mp" declares `"kind": "inference"`). The deployment is named after the package (its scope
 * dropped, characters the API refuses turned into "-"), else after the directory.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliError, ExitCode } from '../../errors';

/** The longest name CreateDeploymentInput takes. */
export const MAX_NAME_LENGTH = 64;

export const OUTSIDE_PROJECT_HINT =
  'Run it in a serving project (`mp init --template runpod-signal-http <dir>`, then `cd <dir>`), or name the deployment with --name.';

function outside(reason: string): CliError {
  return new CliError(`mp deploy outside a serving template's project: ${reason}`, ExitCode.USAGE, { hint: OUTSIDE_PROJECT_HINT });
}

/** A name the API accepts (1 to 64 letters, digits, spaces, _, . or -), or null when nothing is left. */
export function deploymentName(raw: string): string | null {
  const bare = raw.replace(/^@[^/]*\//, '');
  const name = bare
    .replace(/[^\w .-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .slice(0, MAX_NAME_LENGTH)
    .replace(/^[-. ]+|[-. ]+$/g, '');
  return name === '' ? null : name;
}

/** The default name for a deployment made from `dir`; a usage error (exit 2) when `dir` is no serving project. */
export function projectDeploymentName(dir: string): string {
  const file = path.join(dir, 'package.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw outside(`${dir} has no package.json`);
  }
  let manifest: { name?: unknown; mp?: { kind?: unknown } };
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
    manifest = parsed as typeof manifest;
  } catch (error) {
    throw new CliError(`${file} is not valid JSON: ${(error as Error).message}`, ExitCode.USAGE, { hint: 'Fix it, or name the deployment with --name.' });
  }
  if (typeof manifest.mp !== 'object' || manifest.mp === null || manifest.mp.kind !== 'inference') {
    throw outside(`the package.json in ${dir} does not declare "mp": {"kind": "inference"}`);
  }
  const name = (typeof manifest.name === 'string' ? deploymentName(manifest.name) : null) ?? deploymentName(path.basename(dir));
  if (name === null) throw new CliError(`cannot make a deployment name from ${file} or its directory`, ExitCode.USAGE, { hint: 'Name it with --name.' });
  return name;
}
