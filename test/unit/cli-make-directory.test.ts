import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeDirectory } from '../../cli/make-directory';

describe('makeDirectory (cli/make-directory.ts)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-mkdir-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('makes every missing level, and does nothing when the directory is there', () => {
    const target = path.join(dir, 'a', 'b', 'c');
    makeDirectory(target);
    assert.ok(fs.statSync(target).isDirectory());
    fs.writeFileSync(path.join(target, 'kept'), 'x');
    makeDirectory(target);
    assert.deepEqual(fs.readdirSync(target), ['kept']);
  });

  it('fails with ENOTDIR when a file is in the way, and creates nothing', () => {
    fs.writeFileSync(path.join(dir, 'file'), 'x');
    assert.throws(() => makeDirectory(path.join(dir, 'file', 'a', 'b')), { code: 'ENOTDIR' });
    assert.deepEqual(fs.readdirSync(dir), ['file']);
  });

  it('fails with EEXIST when the path itself is a file', () => {
    fs.writeFileSync(path.join(dir, 'file'), 'x');
    assert.throws(() => makeDirectory(path.join(dir, 'file')), { code: 'EEXIST' });
  });

  it("fails at once under /proc, where node's recursive mkdir never returns", function () {
    if (!fs.existsSync('/proc/self')) this.skip();
    assert.throws(() => makeDirectory('/proc/mp-no-such-dir/data'), { code: 'ENOENT' });
  });
});
