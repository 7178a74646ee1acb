import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');

interface EngineWarning {
  pkg: string;
  required: string;
}

/** The EBADENGINE warnings of `npm ci` with this package.json and package-lock.json, without a registry. */
async function engineWarnings(): Promise<EngineWarning[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mp-engines-'));
  try {
    for (const file of ['package.json', 'package-lock.json']) copyFileSync(path.join(ROOT, file), path.join(dir, file));
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
    const args = ['ci', '--dry-run', '--offline', '--cache', path.join(dir, 'cache'), '--registry', 'http://127.0.0.1:9/', '--no-audit', '--no-fund'];
    const { stderr } = await exec('npm', args, { cwd: dir, env, maxBuffer: 16 * 1024 * 1024 });
    const found: EngineWarning[] = [];
    const block = /EBADENGINE {3}package: '([^']+)',\n[^\n]*EBADENGINE {3}required: \{ node: '([^']+)'/g;
    for (const match of stderr.matchAll(block)) found.push({ pkg: match[1], required: match[2] });
    return found;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The rows of the README's table of the engine warnings that remain: `package@version` and the Node.js it asks for. */
function documentedWarnings(): EngineWarning[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('### Engine warnings on Node 20');
  assert.ok(start >= 0, 'README.md has a section "Engine warnings on Node 20"');
  const section = readme.slice(start, readme.indexOf('\n#', start + 1) === -1 ? undefined : readme.indexOf('\n#', start + 1));
  return [...section.matchAll(/^\| `([^`]+)` \| `node ([^`]+)` \|/gm)].map((match) => ({ pkg: match[1], required: match[2] }));
}

const key = (warning: EngineWarning) => `${warning.pkg} (node ${warning.required})`;
const unique = (warnings: EngineWarning[]) => [...new Set(warnings.map(key))].sort();

describe('npm ci on this Node.js', function () {
  this.timeout(120_000);
  let warnings: EngineWarning[];

  before(async function () {
    warnings = await engineWarnings();
  });

  it('warns about exactly the engines the README lists as remaining, each with its reason', function () {
    assert.deepEqual(unique(warnings), unique(documentedWarnings()));
  });

  it('warns about no package the project depends on directly (those we pin to a version that fits)', function () {
    const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
    const direct = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.devDependencies ?? {})]);
    const name = (pkg: string) => pkg.slice(0, pkg.lastIndexOf('@'));
    assert.deepEqual(warnings.filter((warning) => direct.has(name(warning.pkg))).map(key), []);
  });
});
