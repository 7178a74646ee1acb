/**
 * Takes a run's directory back from the user its program ran as, before the server (root) reads
 * or removes anything in it. Top-down, each directory becomes the server's (0755) before its
 * entries are looked at, so from then on nothing of the run's user, not even a helper that
 * escaped the kill with its working directory inside, can swap an entry for a symbolic link to
 * the server's secrets. Regular files of the run's user (or already the server's: sealing twice
 * changes nothing) stay, now the server's (0644); anything else goes: symbolic links, devices,
 * sockets, FIFOs, and files of another owner or with other links (a hard link to somebody else's file).
 */
import { chmod, lchown, lstat, readdir, rm } from 'node:fs/promises';
import * as path from 'node:path';

export async function seal(dir: string, runUid: number): Promise<void> {
  const stats = await lstat(dir).catch(() => null);
  if (!stats) return;
  if (!stats.isDirectory()) {
    await rm(dir, { force: true });
    return;
  }
  await takeOver(dir, 0o755);
  for (const name of await readdir(dir)) {
    const entry = path.join(dir, name);
    const inner = await lstat(entry).catch(() => null);
    if (!inner) continue;
    if (inner.isDirectory()) await seal(entry, runUid);
    else if (inner.isFile() && inner.nlink === 1 && (inner.uid === runUid || inner.uid === ownUid())) await takeOver(entry, 0o644);
    else await rm(entry, { force: true });
  }
}

function ownUid(): number {
  return process.getuid?.() ?? 0;
}

async function takeOver(entry: string, mode: number): Promise<void> {
  await lchown(entry, ownUid(), process.getgid?.() ?? 0);
  // chmod follows links, but `entry` is no link and its directory is already ours alone.
  await chmod(entry, mode);
}
