import { strict as assert } from 'node:assert';
import { buildCli, commandPath, packageVersion } from '../../cli/index';
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
    assert.equal(error.message, 'unknown command "shw". Did you mean show?');
    assert.equal(error.hint, 'Run `mp catalog --help` for usage.');
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
  });
});
