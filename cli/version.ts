import * as fs from 'node:fs';
import * as path from 'node:path';

/** The package version, read from package.json (one level up from cli/, two from dist/cli/). */
export function packageVersion(): string {
  for (const dir of [path.join(__dirname, '..'), path.join(__dirname, '..', '..')]) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: unknown };
      if (typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here; try the next directory up
    }
  }
  return 'unknown';
}
