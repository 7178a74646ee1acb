import { strict as assert } from 'node:assert';
import { buildCli } from '../../cli/index';
import { CliError, ExitCode } from '../../cli/errors';
import { formatSeconds, parseDurationSeconds } from '../../cli/duration';
import { formatHyperparameters, parseHyperparameter, parseHyperparameters, typedHyperparameterValue } from '../../cli/hyperparameters';
import { formatUsd, parseBudgetUsd } from '../../cli/money';
import { parseCount, parseLimit, parseRound } from '../../cli/flag-parsers';
import { parseStatuses } from '../../cli/commands/train/flags';
import { buildSpec } from '../../cli/commands/train/start';
import type { TrainStartArgs } from '../../cli/commands/train/start';
import { startSeq } from '../../cli/commands/train/logs';

/** Parses argv (which ends in --help, so no handler runs) with the real yargs tree: the coerced args. */
async function parsed(argv: string[]): Promise<Record<string, unknown>> {
  return (await buildCli(argv).parseAsync(argv, {}, () => undefined)) as Record<string, unknown>;
}

/**
 * The usage error for argv. With `help` (for flags whose coerce fails) `--help` is added so no
 * handler can run; without it (for choices and conflicts, which yargs checks only when it
 * validates) argv must fail validation, so no handler runs either.
 */
async function usageErrorFor(argv: string[], help = true): Promise<CliError> {
  const full = help ? [...argv, '--help'] : argv;
  try {
    await buildCli(full).parseAsync(full, {}, () => undefined);
  } catch (error) {
    assert.ok(error instanceof CliError, `expected a CliError, got ${String(error)}`);
    assert.equal(error.exitCode, ExitCode.USAGE);
    return error;
  }
  assert.fail(`expected "mp ${argv.join(' ')}" to be a usage error`);
}

describe('mp train argument parsing', () => {
  describe('--hp name=value', () => {
    it('types true/false as booleans, finite numbers as numbers, everything else as strings', () => {
      assert.equal(typedHyperparameterValue('true'), true);
      assert.equal(typedHyperparameterValue('false'), false);
      assert.equal(typedHyperparameterValue('20'), 20);
      assert.equal(typedHyperparameterValue('0.001'), 0.001);
      assert.equal(typedHyperparameterValue('-2'), -2);
      assert.equal(typedHyperparameterValue('1e-4'), 1e-4);
      assert.equal(typedHyperparameterValue('.5'), 0.5);
      for (const text of ['adam', 'True', '0x10', 'Infinity', 'NaN', '1e999', '1,5', '3 ', ' 3', '1.2.3']) {
        assert.equal(typedHyperparameterValue(text), text, text);
      }
    });

    it('splits at the first "=" so values may contain "="', () => {
      assert.deepEqual(parseHyperparameter('lr=0.001'), { name: 'lr', value: 0.001 });
      assert.deepEqual(parseHyperparameter('filter=a=b'), { name: 'filter', value: 'a=b' });
      assert.deepEqual(parseHyperparameter('shuffle=false'), { name: 'shuffle', value: false });
    });

    it('rejects a missing "=", an empty name or value, and a bad name, naming the argument', () => {
      assert.throws(() => parseHyperparameter('lr'), /invalid --hp "lr": no "="/);
      assert.throws(() => parseHyperparameter('=3'), /invalid --hp "=3": the name before "=" is empty/);
      assert.throws(() => parseHyperparameter('lr='), /invalid --hp "lr=": no value after "="/);
      assert.throws(() => parseHyperparameter('my lr=3'), /invalid --hp "my lr=3": a name is/);
    });

    it('takes a repeated flag as a list and refuses the same name twice', () => {
      assert.deepEqual(parseHyperparameters(['lr=0.1', 'epochs=3']), [
        { name: 'lr', value: 0.1 },
        { name: 'epochs', value: 3 },
      ]);
      assert.deepEqual(parseHyperparameters('epochs=3'), [{ name: 'epochs', value: 3 }]);
      assert.deepEqual(parseHyperparameters(undefined), []);
      assert.throws(() => parseHyperparameters(['lr=0.1', 'lr=0.2']), /--hp lr is given more than once/);
    });

    it('formats values so that the string "3" and the number 3 differ', () => {
      assert.equal(
        formatHyperparameters([
          { name: 'epochs', value: 3 },
          { name: 'tag', value: '3' },
          { name: 'x', value: true },
        ]),
        'epochs=3, tag="3", x=true',
      );
      assert.equal(formatHyperparameters([]), '-');
    });
  });

  describe('--timeout', () => {
    it('accepts 90s, 45m, 2h, 1.5h, 1d and plain seconds', () => {
      assert.equal(parseDurationSeconds('90s'), 90);
      assert.equal(parseDurationSeconds('45m'), 2700);
      assert.equal(parseDurationSeconds('2h'), 7200);
      assert.equal(parseDurationSeconds('2H'), 7200);
      assert.equal(parseDurationSeconds('1.5h'), 5400);
      assert.equal(parseDurationSeconds('1d'), 86_400);
      assert.equal(parseDurationSeconds('5400'), 5400);
      assert.equal(parseDurationSeconds(' 7d '), 7 * 86_400);
    });

    it('rejects zero, negative, over 7 days, under 60 s and garbage', () => {
      assert.throws(() => parseDurationSeconds('0'), /invalid --timeout "0": must be positive/);
      assert.throws(() => parseDurationSeconds('0h'), /must be positive/);
      assert.throws(() => parseDurationSeconds('-5m'), /invalid --timeout "-5m": must be positive/);
      assert.throws(() => parseDurationSeconds('8d'), /--timeout "8d" is too long: at most 7d/);
      assert.throws(() => parseDurationSeconds('604801'), /too long/);
      assert.throws(() => parseDurationSeconds('30s'), /--timeout "30s" is too short: at least 1m/);
      for (const text of ['2 hours', 'h', '1w', '', 'P1D', '1h30m']) assert.throws(() => parseDurationSeconds(text), /invalid --timeout/, text);
    });

    it('formats seconds compactly with the two largest units', () => {
      assert.equal(formatSeconds(45), '45s');
      assert.equal(formatSeconds(192), '3m 12s');
      assert.equal(formatSeconds(3600), '1h');
      assert.equal(formatSeconds(3900), '1h 05m');
      assert.equal(formatSeconds(7 * 86_400), '7d');
      assert.equal(formatSeconds(93_600), '1d 2h');
      assert.equal(formatSeconds(0), '0s');
      assert.equal(formatSeconds(0.3), '<1s');
    });
  });

  describe('--budget', () => {
    it('accepts positive USD with at most 2 decimals, up to 10000, and returns a decimal string', () => {
      assert.equal(parseBudgetUsd('5'), '5');
      assert.equal(parseBudgetUsd('12.50'), '12.50');
      assert.equal(parseBudgetUsd('0.5'), '0.5');
      assert.equal(parseBudgetUsd('$7'), '7');
      assert.equal(parseBudgetUsd('007.10'), '7.10');
      assert.equal(parseBudgetUsd('10000'), '10000');
      assert.equal(parseBudgetUsd('10000.00'), '10000.00');
    });

    it('rejects zero, negative, more than 2 decimals, over 10000 and non-numbers', () => {
      assert.throws(() => parseBudgetUsd('0'), /invalid --budget "0": must be positive/);
      assert.throws(() => parseBudgetUsd('0.00'), /must be positive/);
      assert.throws(() => parseBudgetUsd('-5'), /invalid --budget "-5": must be positive/);
      assert.throws(() => parseBudgetUsd('1.234'), /at most 2 decimals/);
      assert.throws(() => parseBudgetUsd('10000.01'), /too large: at most 10000 USD/);
      assert.throws(() => parseBudgetUsd('99999999999999999999'), /too large/);
      for (const text of ['five', '5 USD', '1e3', '', '.5', '5.']) assert.throws(() => parseBudgetUsd(text), /invalid --budget/, text);
    });

    it('shows money with cents and no float rounding', () => {
      assert.equal(formatUsd('5'), '$5.00');
      assert.equal(formatUsd('0.4200'), '$0.42');
      assert.equal(formatUsd('0.0012'), '$0.0012');
      assert.equal(formatUsd('12.5'), '$12.50');
      assert.equal(formatUsd('0'), '$0.00');
      assert.equal(formatUsd(null), '-');
    });
  });

  describe('--status, --round, --limit, --after, --tail', () => {
    it('--status takes comma-separated or repeated states in any case, plus active and finished', () => {
      assert.deepEqual(parseStatuses('running,queued'), ['RUNNING', 'QUEUED']);
      assert.deepEqual(parseStatuses(['Failed', 'timed-out']), ['FAILED', 'TIMED_OUT']);
      assert.deepEqual(parseStatuses('active'), ['QUEUED', 'STARTING', 'RUNNING']);
      // `finished` expands in the schema's (generated, alphabetical) order; `failed` is not repeated.
      assert.deepEqual(parseStatuses('finished,failed'), ['BUDGET_EXCEEDED', 'CANCELLED', 'FAILED', 'SUCCEEDED', 'TIMED_OUT']);
      assert.throws(() => parseStatuses('runing'), /invalid --status "runing": choose from budget_exceeded, .*queued, .*timed_out, active, finished/);
      assert.throws(() => parseStatuses(','), /--status needs at least one/);
    });

    it('--round is a positive number or current', () => {
      assert.equal(parseRound('current'), 'current');
      assert.equal(parseRound('CURRENT'), 'current');
      assert.equal(parseRound('3'), 3);
      for (const text of ['0', '-1', '1.5', 'latest', '']) assert.throws(() => parseRound(text), /invalid --round/, text);
    });

    it('--limit is 1 to 100; --after 0 and up; --tail 1 and up', () => {
      assert.equal(parseLimit(100), 100);
      assert.throws(() => parseLimit(0), /--limit must be a whole number from 1 to 100/);
      assert.throws(() => parseLimit(101), /--limit/);
      assert.equal(parseCount('--after', 0)('0'), 0);
      assert.throws(() => parseCount('--after', 0)('-1'), /invalid --after "-1"/);
      assert.throws(() => parseCount('--tail', 1)('0'), /invalid --tail "0": use a whole number of at least 1/);
    });

    it('--tail starts printing at the last N lines, never before --after', () => {
      assert.equal(startSeq(100, undefined, undefined), 0);
      assert.equal(startSeq(100, 40, undefined), 40);
      assert.equal(startSeq(100, undefined, 10), 90);
      assert.equal(startSeq(100, 95, 10), 95);
      assert.equal(startSeq(5, undefined, 10), 0);
    });
  });

  describe('the spec sent by mp train start', () => {
    const base: TrainStartArgs = { json: false, verbose: false, color: false, task: 'signal', round: 'current', follow: false };

    it('leaves out round for --round current and every flag not given, so the server defaults apply', () => {
      assert.deepEqual(buildSpec(base), { task: 'SIGNAL' });
    });

    it('maps every flag to its spec field', () => {
      const spec = buildSpec({
        ...base,
        task: 'optimizer',
        round: 4,
        hp: [{ name: 'lr', value: 0.01 }],
        gpu: 'A100',
        provider: 'runpod',
        image: 'ghcr.io/acme/train:1',
        timeout: 7200,
        budget: '12.50',
      });
      assert.deepEqual(spec, {
        task: 'OPTIMIZER',
        round: 4,
        hyperparameters: [{ name: 'lr', value: 0.01 }],
        gpuType: 'A100',
        provider: 'RUNPOD',
        image: 'ghcr.io/acme/train:1',
        timeoutSeconds: 7200,
        maxBudgetUsd: '12.50',
      });
    });
  });

  describe('through the real command tree', () => {
    it('parses a full mp train start line into typed values', async () => {
      const args = await parsed([
        'train',
        'start',
        '--task',
        'signal',
        '--round',
        '2',
        '--hp',
        'lr=0.001',
        '--hp',
        'epochs=20',
        '--hp',
        'shuffle=true',
        '--gpu',
        'A100',
        '--provider',
        'runpod',
        '--timeout',
        '2h',
        '--budget',
        '5',
        '-f',
        '--idempotency-key',
        'k1',
        '--help',
      ]);
      assert.equal(args.round, 2);
      assert.deepEqual(args.hp, [
        { name: 'lr', value: 0.001 },
        { name: 'epochs', value: 20 },
        { name: 'shuffle', value: true },
      ]);
      assert.equal(args.timeout, 7200);
      assert.equal(args.budget, '5');
      assert.equal(args.follow, true);
      assert.equal(args.idempotencyKey, 'k1');
    });

    it('exits 2 naming the bad argument for --hp without "="', async () => {
      const error = await usageErrorFor(['train', 'start', '--task', 'signal', '--hp', 'epochs=3', '--hp', 'lr']);
      assert.match(error.message, /invalid --hp "lr": no "="/);
      assert.equal(error.hint, 'Run `mp train start --help` for usage.');
    });

    it('exits 2 for a bad --timeout, --budget, --round or task, and for --template with --image', async () => {
      assert.match((await usageErrorFor(['train', 'start', '--task', 'signal', '--timeout', '0'])).message, /--timeout/);
      assert.match((await usageErrorFor(['train', 'start', '--task', 'signal', '--timeout', '30d'])).message, /too long/);
      assert.match((await usageErrorFor(['train', 'start', '--task', 'signal', '--budget', '1.234'])).message, /--budget/);
      assert.match((await usageErrorFor(['train', 'start', '--task', 'signal', '--budget', '20000'])).message, /too large/);
      assert.match((await usageErrorFor(['train', 'start', '--task', 'signal', '--round', 'latest'])).message, /--round/);
      assert.match((await usageErrorFor(['train', 'start', '--task', 'regression'], false)).message, /Invalid values/);
      assert.match((await usageErrorFor(['train', 'start', '--task', 'signal', '--template', 'a', '--image', 'b'], false)).message, /mutually exclusive/);
      assert.match((await usageErrorFor(['train', 'start'], false)).message, /Missing required argument: task/);
    });

    it('exits 2 for a bad --status or --limit, and for logs without a run id', async () => {
      assert.match((await usageErrorFor(['train', 'status', '--status', 'done'])).message, /invalid --status "done"/);
      assert.match((await usageErrorFor(['train', 'status', '--limit', '500'])).message, /--limit/);
      assert.match((await usageErrorFor(['train', 'logs', 'trn_1', '--tail', '0'])).message, /--tail/);
    });

    it('requires a train sub-command and points a typo at the right one', async () => {
      try {
        await buildCli(['train', 'statu']).parseAsync();
        assert.fail('expected a usage error');
      } catch (error) {
        assert.ok(error instanceof CliError);
        assert.equal(error.exitCode, ExitCode.USAGE);
        assert.equal(error.message, 'unknown command "statu" for mp train: did you mean `mp train status`?');
        assert.equal(error.hint, 'Run `mp train --help` to see its commands.');
      }
    });

    for (const command of [['train'], ['train', 'start'], ['train', 'status'], ['train', 'logs'], ['train', 'stop']]) {
      it(`\`mp ${command.join(' ')} --help\` shows usage with an example`, async () => {
        const output = await new Promise<string>((resolve) => {
          void buildCli([...command, '--help']).parse([...command, '--help'], {}, (_error, _args, text) => resolve(text));
        });
        assert.match(output, new RegExp(`^mp ${command.join(' ')}`));
        assert.match(output, /Examples:\n\s+mp train/);
        assert.match(output, /--json/);
      });
    }
  });
});
