import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSigningSecret, SIGNING_SECRET_FILE } from '../../server/storage/url-signer';

describe('the signing secret file in MP_DATA_DIR', function () {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mp-secret-mode-'));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  const modeOf = async (): Promise<number> => (await stat(join(dataDir, SIGNING_SECRET_FILE))).mode & 0o7777;

  it('is created with mode 0600', async () => {
    await loadSigningSecret({ dataDir });
    assert.equal((await modeOf()).toString(8), '600');
  });

  it('is made 0600 again when found readable by others (copied, restored, made by hand), keeping its secret', async () => {
    const secret = 'x'.repeat(48);
    await writeFile(join(dataDir, SIGNING_SECRET_FILE), `${secret}\n`);
    await chmod(join(dataDir, SIGNING_SECRET_FILE), 0o644);
    assert.equal((await loadSigningSecret({ dataDir })).toString(), secret);
    assert.equal((await modeOf()).toString(8), '600');
  });
});
