import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * `mkdir -p`, one level at a time. node's own `mkdir(..., { recursive: true })` never returns
 * when the file system answers ENOENT for a directory whose parent exists (a path under /proc
 * or /sys spins at 100% CPU in node 20); one level at a time, that is a plain ENOENT error.
 */
export function makeDirectory(dir: string): void {
  const target = path.resolve(dir);
  const missing: string[] = [];
  for (let current = target; !exists(current); current = path.dirname(current)) {
    missing.unshift(current);
    if (path.dirname(current) === current) break;
  }
  if (missing.length === 0 && !isDirectory(target)) {
    throw Object.assign(new Error(`EEXIST: file already exists, mkdir '${target}'`), { code: 'EEXIST', path: target });
  }
  for (const directory of missing) {
    try {
      fs.mkdirSync(directory);
    } catch (error) {
      // Made meanwhile by someone else is fine; a file in the way is not.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !isDirectory(directory)) throw error;
    }
  }
}

/** Whether something is at `file`; a file in the way of a directory shows as the mkdir's ENOTDIR. */
function exists(file: string): boolean {
  try {
    return fs.statSync(file, { throwIfNoEntry: false }) !== undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
    throw error;
  }
}

function isDirectory(file: string): boolean {
  return fs.statSync(file, { throwIfNoEntry: false })?.isDirectory() ?? false;
}
