import { strict as assert } from 'node:assert';
import yargs from 'yargs';
import type { Argv } from 'yargs';
import keysCreateCommand from '../../cli/commands/keys/create';
import type { KeysCreateArgs } from '../../cli/commands/keys/create';
import { parseExpires } from '../../cli/expires';
import type { GlobalArgs } from '../../cli/global-options';

const now = new Date('2026-11-25T17:00:00.000Z');

describe('cli --expires', () => {
  it('reads a duration as that long from now', () => {
    assert.equal(parseExpires('30d', now)?.toISOString(), '2026-12-25T17:00:00.000Z');
    assert.equal(parseExpires('12h', now)?.toISOString(), '2026-11-26T05:00:00.000Z');
    assert.equal(parseExpires('2w', now)?.toISOString(), '2026-12-09T17:00:00.000Z');
    assert.equal(parseExpires('1y', now)?.toISOString(), '2027-11-25T17:00:00.000Z');
  });

  it('reads a date as the start of that day in UTC', () => {
    assert.equal(parseExpires('2026-12-31', now)?.toISOString(), '2026-12-31T00:00:00.000Z');
  });

  it('reads an ISO 8601 time', () => {
    assert.equal(parseExpires('2026-12-31T12:30:00+02:00', now)?.toISOString(), '2026-12-31T10:30:00.000Z');
    assert.equal(parseExpires('2027-01-01T00:00:00Z', now)?.toISOString(), '2027-01-01T00:00:00.000Z');
  });

  it('reads "never" as no expiry', () => {
    assert.equal(parseExpires('never', now), null);
  });

  it('rejects garbage, impossible dates and times in the past', () => {
    assert.throws(() => parseExpires('soon', now), /invalid --expires "soon"/);
    assert.throws(() => parseExpires('30x', now), /invalid --expires/);
    assert.throws(() => parseExpires('2026-02-30', now), /invalid --expires/);
    assert.throws(() => parseExpires('2020-01-01', now), /not in the future/);
    assert.throws(() => parseExpires('0d', now), /not in the future/);
  });

  it('is coerced to a Date by `mp keys create`', async () => {
    const builder = keysCreateCommand.builder as (y: Argv<GlobalArgs>) => Argv<KeysCreateArgs>;
    const before = Date.now();
    const args = await builder(yargs(['--name', 'ci', '--expires', '30d']) as unknown as Argv<GlobalArgs>)
      .exitProcess(false)
      .parseAsync();
    assert.ok(args.expires instanceof Date);
    const days = (args.expires.getTime() - before) / 86_400_000;
    assert.ok(days >= 29.99 && days <= 30.01, `expected about 30 days, got ${days}`);
    assert.equal(args.name, 'ci');
  });
});
