/**
 * Calls `onChange` once per burst of file changes under `dir` (an editor's save is several
 * events): `debounceMs` after the last one, with the first path that changed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Watcher {
  close(): void;
}

export function watchDebounced(dir: string, debounceMs: number, onChange: (changed: string) => void): Watcher {
  let timer: NodeJS.Timeout | null = null;
  let first: string | null = null;
  const watcher = fs.watch(dir, { recursive: true }, (_event, file) => {
    first ??= file ? path.join(dir, file.toString()) : dir;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      const changed = first ?? dir;
      first = null;
      onChange(changed);
    }, debounceMs);
  });
  // The directory went away (a branch switch): there is nothing left to watch until mp dev restarts.
  watcher.on('error', () => watcher.close());
  return {
    close() {
      if (timer) clearTimeout(timer);
      watcher.close();
    },
  };
}
