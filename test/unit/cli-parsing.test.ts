import { strict as assert } from 'node:assert';
import { buildCli, commandPath, packageVersion } from '../../cli/index';
import { COMMAND_TREE, closestCommand } from '../../cli/command-tree';
import { CliError, ExitCode } from '../../cli/errors';

/** Runs the parser in-process with yargs' parse callback, which captures help/version output instead of exiting. */
function parseForOutput(argv: string[]): Promise<{ error: Error | null; output: string }> {
  return new Promise((resolve) => {
    void buildCli(argv).parse(argv, {}, (error, _args, output) => resolve({ error: error ?? null, output }));
  });
}

async function usageErrorFor(argv: string[]): Promise<CliError> {
  try {
    await buildCli(argv).parseAsync();
  } catch (error) {
    assert.ok(error instanceof CliError, `expected a CliError, got ${String(error)}`);
    assert.equal(error.exitCode, ExitCode.USAGE);
    return error;
  }
  assert.fail(`expected "mp ${argv.join(' ')}" to be a usage error`);
}

describe('cli argument parsing', () => {
  const commands = [
    ['login'],
    ['logout'],
    ['whoami'],
    ['keys'],
    ['keys', 'create'],
    ['keys', 'list'],
    ['keys', 'revoke'],
    ['catalog'],
    ['catalog', 'list'],
    ['catalog', 'show'],
  ];
  for (const command of commands) {
    it(`\`mp ${command.join(' ')} --help\` shows usage with at least one example`, async () => {
      const { output } = await parseForOutput([...command, '--help']);
      assert.match(output, new RegExp(`^mp ${command.join(' ')}`));
      assert.match(output, /Examples:\n\s+mp /);
      assert.match(output, /--api-url/);
      assert.match(output, /--json/);
    });
  }

  it('prints the package.json version for --version', async () => {
    const { output } = await parseForOutput(['--version']);
    assert.equal(output, packageVersion());
    assert.match(output, /^\d+\.\d+\.\d+/);
  });

  it('names an unknown command, suggests a close one and points at --help', async () => {
    const error = await usageErrorFor(['catalog', 'shw', 'x']);
    assert.equal(error.message, 'unknown command "shw" for mp catalog: did you mean `mp catalog show`?');
    assert.equal(error.hint, 'Run `mp catalog --help` to see its commands.');
  });

  it('rejects unknown flags (strict)', async () => {
    const error = await usageErrorFor(['catalog', 'list', '--colour']);
    assert.match(error.message, /Unknown argument: colour/);
    assert.equal(error.hint, 'Run `mp catalog list --help` for usage.');
  });

  it('requires a sub-command for keys and catalog', async () => {
    assert.match((await usageErrorFor(['keys'])).message, /choose a keys command/);
    assert.match((await usageErrorFor(['catalog'])).message, /choose a catalog command/);
  });

  it('requires --name for keys create and rejects a bad --expires', async () => {
    assert.match((await usageErrorFor(['keys', 'create'])).message, /name/);
    assert.match((await usageErrorFor(['keys', 'create', '--name', 'x', '--expires', 'soon'])).message, /invalid --expires "soon"/);
  });

  it('accepts --limit from 1 to 100 only, and the documented --task and --sort values', async () => {
    assert.match((await usageErrorFor(['catalog', 'list', '--limit', '101'])).message, /--limit must be a whole number from 1 to 100/);
    assert.match((await usageErrorFor(['catalog', 'list', '--limit', '0'])).message, /--limit/);
    assert.match((await usageErrorFor(['catalog', 'list', '--task', 'magic'])).message, /Invalid values/);
    assert.match((await usageErrorFor(['catalog', 'list', '--sort', 'random'])).message, /Invalid values/);
  });

  it('finds the command a usage error is about', () => {
    assert.equal(commandPath(['keys', 'revoke', '--yes']), 'mp keys revoke');
    assert.equal(commandPath(['--json', 'catalog', 'bogus']), 'mp catalog');
    assert.equal(commandPath(['bogus']), 'mp');
    assert.equal(commandPath(['--api-url', 'keys', 'catalog', 'ls', '--all']), 'mp catalog list');
    assert.equal(commandPath(['deploy', 'token', 'rotate', 'dep_1']), 'mp deploy token rotate');
  });

  it('suggests the one close command: a typo, a swap or a start, never an alias and never a guess among equals', () => {
    const keys = Object.keys(COMMAND_TREE.keys);
    assert.equal(closestCommand('revok', keys), 'revoke');
    assert.equal(closestCommand('crate', keys), 'create');
    assert.equal(closestCommand('lsit', keys), 'list');
    assert.equal(closestCommand('rev', keys), 'revoke');
    assert.equal(closestCommand('xyz', keys), undefined);
    assert.equal(closestCommand('l', keys), undefined);
    const root = Object.keys(COMMAND_TREE);
    assert.equal(closestCommand('lgoin', root), 'login');
    assert.equal(closestCommand('log', root), undefined, 'login and logout both start with log');
    assert.equal(closestCommand('deply', root), 'deploy');
    assert.equal(closestCommand('TRAIN', root), 'train');
  });

  // The tree usage errors walk is written by hand: it must list what yargs really has.
  it('knows every command and sub-command yargs has, and no other', async () => {
    async function listed(path: string[]): Promise<string[]> {
      const { output } = await parseForOutput([...path, '--help']);
      const section = /\nCommands:\n([\s\S]*?)\n\n/.exec(output)?.[1] ?? '';
      const prefix = ['mp', ...path].join(' ');
      return section
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line.startsWith(`${prefix} `))
        .map((line) => line.slice(prefix.length + 1).split(/\s+/)[0])
        .filter((name) => name !== '' && !name.startsWith('[') && !name.startsWith('<') && !name.startsWith('-'));
    }
    async function check(path: string[], node: Record<string, unknown>): Promise<void> {
      const expected = Object.keys(node).sort();
      assert.deepEqual((await listed(path)).sort(), expected, `the commands of mp ${path.join(' ')}`);
      for (const name of expected) await check([...path, name], node[name] as Record<string, unknown>);
    }
    await check([], COMMAND_TREE);
  });
});
