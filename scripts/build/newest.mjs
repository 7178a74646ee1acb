// mtime helpers for the build's "is it up to date" checks (make-style: an output older than any input is stale).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The newest modification time under `path` (a file or a directory tree); 0 when it does not exist. */
export function newestMtime(path, skip = () => false) {
  if (!existsSync(path)) return 0;
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const name of readdirSync(path)) {
    const child = join(path, name);
    if (!skip(child)) newest = Math.max(newest, newestMtime(child, skip));
  }
  return newest;
}

/** The modification time of `path`, or -1 when it does not exist (so anything is newer). */
export function mtimeOf(path) {
  return existsSync(path) ? statSync(path).mtimeMs : -1;
}

/** Every file under `dir` whose name passes `keep`, as paths; directories for which `skip` is true are left out. */
export function filesUnder(dir, keep, skip = () => false) {
  if (!existsSync(dir)) return [];
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (skip(path)) continue;
    if (entry.isDirectory()) found.push(...filesUnder(path, keep, skip));
    else if (keep(entry.name)) found.push(path);
  }
  return found;
}
