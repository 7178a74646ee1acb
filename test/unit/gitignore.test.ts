import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** The paths of `paths` git would ignore in this repository. */
function ignored(paths: string[]): string[] {
  try {
    return execFileSync('git', ['check-ignore', '--no-index', ...paths], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
  } catch (error) {
    // Exit 1: none of them is ignored.
    if ((error as { status?: number }).status === 1) return [];
    throw error;
  }
}

describe('.gitignore', () => {
  it("ignores the README's example directories ./data/ and ./my-model/ at the root only", () => {
    assert.deepEqual(ignored(['data/train.csv', 'my-model/train.py']), ['data/train.csv', 'my-model/train.py']);
    assert.deepEqual(ignored(['server/modules/data/x.ts', 'test/fixtures/my-model/x', 'cli/commands/data/pull.ts']), []);
  });
});
