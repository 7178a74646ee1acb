import { strict as assert } from 'node:assert';
import { formatDate, formatDateTime, formatKeyPrefix, formatRelative, keyMatchesPrefix } from '../../cli/format';
import type { Io, TextOutput } from '../../cli/io';
import { Output, colorEnabled, painter, renderKeyValue, renderTable } from '../../cli/output';
import type { Column } from '../../cli/output';

class Buffered implements TextOutput {
  text = '';
  constructor(readonly isTTY = false) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

const plain = painter(false);
interface Row {
  slug: string;
  task: string;
}
const columns: Column<Row>[] = [
  { header: 'slug', value: (r) => r.slug },
  { header: 'task', value: (r) => r.task, style: () => 'green' },
];

describe('cli output', () => {
  it('aligns a table under upper-case headers', () => {
    const text = renderTable(
      columns,
      [
        { slug: 'demo/momentum-v1', task: 'signal' },
        { slug: 'acme/x', task: 'consensus' },
      ],
      plain,
    );
    assert.equal(text, ['SLUG              TASK', 'demo/momentum-v1  signal', 'acme/x            consensus', ''].join('\n'));
  });

  it('colors cells without breaking the alignment', () => {
    const text = renderTable(columns, [{ slug: 'a', task: 'signal' }], painter(true));
    assert.ok(text.includes('\u001b['), 'expected ANSI escapes');
    // eslint-disable-next-line no-control-regex -- stripping color codes
    const stripped = text.replace(/\u001b\[\d+m/g, '');
    assert.equal(stripped, 'SLUG  TASK\na     signal\n');
  });

  it('aligns key-value labels', () => {
    assert.equal(
      renderKeyValue(
        [
          ['Name', 'Momentum'],
          ['Published', '2026-11-25'],
        ],
        plain,
      ),
      'Name:       Momentum\nPublished:  2026-11-25\n',
    );
  });

  describe('colorEnabled', () => {
    const tty = new Buffered(true);
    it('colors a terminal by default', () => assert.equal(colorEnabled(tty, {}, true), true));
    it('never colors a pipe', () => assert.equal(colorEnabled(new Buffered(false), {}, true), false));
    it('honours --no-color', () => assert.equal(colorEnabled(tty, {}, false), false));
    it('honours NO_COLOR', () => assert.equal(colorEnabled(tty, { NO_COLOR: '1' }, true), false));
    it('honours FORCE_COLOR on a pipe', () => assert.equal(colorEnabled(new Buffered(false), { FORCE_COLOR: '1' }, true), true));
    it('treats TERM=dumb as no color', () => assert.equal(colorEnabled(tty, { TERM: 'dumb' }, true), false));
  });

  it('writes results to stdout and status, warnings to stderr', () => {
    const io: Io = { stdout: new Buffered(), stderr: new Buffered(), stdin: process.stdin, env: {} };
    const out = new Output(io, { json: true, color: true });
    out.data({ a: 1 });
    out.status('working');
    out.warn('careful');
    assert.deepEqual(JSON.parse((io.stdout as Buffered).text), { a: 1 });
    assert.equal((io.stderr as Buffered).text, 'working\n! careful\n');
  });

  describe('formats', () => {
    const now = new Date('2026-11-25T17:00:00.000Z');
    it('shows dates and date-times in UTC, with a placeholder for none', () => {
      assert.equal(formatDate('2026-11-25T17:00:00.000Z'), '2026-11-25');
      assert.equal(formatDate(null, 'never'), 'never');
      assert.equal(formatDateTime('2026-11-25T17:04:59.000Z'), '2026-11-25 17:04 UTC');
    });
    it('says how far away a time is, rounded', () => {
      assert.equal(formatRelative('2026-12-25T16:59:00.000Z', now), 'in 30 days');
      assert.equal(formatRelative('2026-11-25T14:00:00.000Z', now), '3 hours ago');
      assert.equal(formatRelative('2026-11-25T17:00:20.000Z', now), 'just now');
    });
    it('ellipsises a key prefix once, whether or not the server did', () => {
      assert.equal(formatKeyPrefix('vk_abc'), 'vk_abc…');
      assert.equal(formatKeyPrefix('vk_abc_…'), 'vk_abc_…');
      assert.ok(keyMatchesPrefix('vk_abc_secret', 'vk_abc_…'));
      assert.ok(!keyMatchesPrefix('vk_xyz_secret', 'vk_abc_…'));
    });
  });
});
