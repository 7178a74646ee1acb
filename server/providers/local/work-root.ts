/**
 * When local runs execute as another user, that user must reach its run directories under
 * `<workRoot>` (MP_DATA_DIR/runs) and nothing else in the data directory around it: the embedded
 * database's files (PGlite writes them world-readable and world-writable), the blobs of every
 * vendor, the signing secret. So the data directory becomes searchable but not listable by others
 * (it keeps its owner's bits, group and others get search only), `<workRoot>` likewise (0711),
 * and every other entry of the data directory loses all permissions for group and others. Run
 * on every run's start: entries appear later too (blobs/ with the first file).
 */
import { chmod, lstat, mkdir, readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { unreachableBy, type RunUser } from './run-user';

export async function enclose(workRoot: string, user: RunUser): Promise<void> {
  await mkdir(workRoot, { recursive: true });
  const dataDir = path.dirname(workRoot);
  const data = await stat(dataDir);
  if ((data.mode & 0o1002) !== 0) {
    throw new Error(
      `MP_DATA_DIR ${dataDir} is shared (world-writable or sticky, like /tmp): give the server a directory of its own, ` +
        `so that the user local runs execute as (${user.name}) can be let into ${workRoot} and nowhere else`,
    );
  }
  await chmodTo(dataDir, (data.mode & 0o700) | 0o011);
  await chmodTo(workRoot, 0o711);
  for (const name of await readdir(dataDir)) {
    if (name === path.basename(workRoot)) continue;
    const entry = path.join(dataDir, name);
    const stats = await lstat(entry).catch(() => null);
    if (!stats || stats.isSymbolicLink() || (stats.mode & 0o077) === 0) continue;
    await chmod(entry, stats.mode & 0o7700);
  }
  const problem = unreachableBy(workRoot, user);
  if (problem) {
    throw new Error(
      `local runs execute as ${user.name} (uid ${user.uid}), who cannot reach ${workRoot}: ${problem}. ` +
        'Make the directories above MP_DATA_DIR searchable (chmod o+x), move MP_DATA_DIR, or choose another MP_LOCAL_RUN_USER',
    );
  }
}

async function chmodTo(dir: string, mode: number): Promise<void> {
  if (((await stat(dir)).mode & 0o7777) !== mode) await chmod(dir, mode);
}
