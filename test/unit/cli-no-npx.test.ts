import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nextStepsFor } from '../../cli/commands/init';

const TEMPLATES = path.resolve(__dirname, '..', '..', 'cli', 'templates');
/** On the npm registry `mp` is an unrelated package: `npx mp` would run someone else's code. */
const NPX_MP = /\bnpx\s+mp(\b|-server)/;

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : filesUnder(full);
    return [full];
  });
}

describe('what mp hands a vendor never says `npx mp`', () => {
  const templates = fs.readdirSync(TEMPLATES).filter((name) => fs.statSync(path.join(TEMPLATES, name)).isDirectory());

  it('finds the templates to look at', () => {
    for (const name of ['runpod-signal-http', 'runpod-signal-train']) assert.ok(templates.includes(name), name);
  });

  for (const template of templates) {
    it(`${template}: no file and no next step of \`mp init\` says it`, () => {
      const offenders = filesUnder(path.join(TEMPLATES, template)).filter((file) => NPX_MP.test(fs.readFileSync(file, 'utf8')));
      assert.deepEqual(offenders, []);
      const { steps, readme } = nextStepsFor(path.join(TEMPLATES, template), 'cd my-model');
      assert.ok(
        steps.some((step) => /^mp /.test(step)),
        `a next step runs mp: ${steps.join('; ')}`,
      );
      assert.doesNotMatch([...steps, readme].join('\n'), NPX_MP);
    });
  }
});
