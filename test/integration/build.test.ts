import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
const at = (...parts: string[]) => path.join(ROOT, ...parts);
const CLI_BIN = at('dist', 'cli', 'mp.js');
const GRAPHIQL = at('dist', 'graphiql', 'index.html');

async function build(): Promise<string> {
  const { stdout } = await run(process.execPath, [at('scripts', 'build.mjs')], { cwd: ROOT });
  return stdout.trim();
}

const mtime = (file: string) => statSync(file).mtimeMs;

/** Marks a source as just edited (its content stays as it is). */
function touch(file: string): void {
  const now = new Date();
  utimesSync(file, now, now);
}

describe('npm run build (the first step of npm start)', function () {
  this.timeout(120_000);

  before(async function () {
    await build();
  });

  it('does nothing and prints nothing when no input changed', async function () {
    const before = [mtime(at('dist', 'server', 'main.js')), mtime(CLI_BIN), mtime(GRAPHIQL)];
    assert.equal(await build(), '');
    assert.deepEqual([mtime(at('dist', 'server', 'main.js')), mtime(CLI_BIN), mtime(GRAPHIQL)], before);
  });

  it('transpiles only the server file that changed, and bundles neither the CLI nor GraphiQL again', async function () {
    const cli = mtime(CLI_BIN);
    const graphiql = mtime(GRAPHIQL);
    const untouched = mtime(at('dist', 'server', 'app.js'));
    touch(at('server', 'paths.ts'));
    assert.match(await build(), /^build: transpiled 1 file\(s\) in \d+\.\d s$/);
    assert.ok(mtime(at('dist', 'server', 'paths.js')) >= mtime(at('server', 'paths.ts')), 'dist/server/paths.js was not written again');
    assert.equal(mtime(at('dist', 'server', 'app.js')), untouched);
    assert.equal(mtime(CLI_BIN), cli);
    assert.equal(mtime(GRAPHIQL), graphiql);
  });

  it('bundles the mp CLI again when one of its sources changed', async function () {
    const cli = mtime(CLI_BIN);
    touch(at('cli', 'version.ts'));
    assert.match(await build(), /^build: transpiled 1 file\(s\), bundled the CLI in \d+\.\d s$/);
    assert.ok(mtime(CLI_BIN) > cli);
    const { stdout } = await run(process.execPath, [CLI_BIN, '--version'], { cwd: ROOT });
    assert.match(stdout.trim(), /^\d+\.\d+\.\d+/);
  });

  it('removes compiled files whose source is gone', async function () {
    const orphan = at('dist', 'server', 'no-such-source.js');
    writeFileSync(orphan, 'module.exports = {};\n');
    writeFileSync(`${orphan}.map`, '{}\n');
    assert.match(await build(), /^build: removed 1 stale file\(s\) in/);
    assert.equal(existsSync(orphan), false);
    assert.equal(existsSync(`${orphan}.map`), false);
  });
});
