// Fails when generated/ (or a template's generated contracts) is stale: regenerates them and
// compares with what was there. On a difference the fresh files stay in place (commit them)
// and the names are printed.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const dir = new URL('../generated/', import.meta.url).pathname;
/** Generated outside generated/: the serving template carries its own copy of the contracts. */
const elsewhere = ['cli/templates/runpod-signal-http/src/contract.generated.ts'];
const read = (file) => (existsSync(file) ? readFileSync(file, 'utf8') : undefined);
const snapshot = () =>
  Object.fromEntries([
    ...readdirSync(dir, { recursive: true })
      .filter((name) => !statSync(join(dir, name)).isDirectory())
      .map((name) => [name, readFileSync(join(dir, name), 'utf8')]),
    ...elsewhere.map((file) => [file, read(join(dir, '..', file))]),
  ]);

const before = snapshot();
execFileSync(process.execPath, [join(dir, '../node_modules/@graphql-codegen/cli/cjs/bin.js'), '--config', 'codegen.yml', '--silent'], {
  cwd: join(dir, '..'),
  stdio: ['ignore', 'ignore', 'inherit'],
});
const after = snapshot();
const changed = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((name) => before[name] !== after[name]);
if (changed.length > 0) {
  console.error(
    `generated/ was stale (${changed.join(', ')}): it has been regenerated from schema/, cli/operations/, test/operations/ and web/operations/; commit it.`,
  );
  process.exit(1);
}
