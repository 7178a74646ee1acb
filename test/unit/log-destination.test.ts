import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { logFormatFor } from '../../server/log-destination';
import { requestLogLevel, SLOW_REQUEST_MS } from '../../server/http/request-log-level';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'logging', 'log-one-line.ts');
const NODE_ARGS = ['--require', require.resolve('tsx/cjs'), FIXTURE];
const ENV = { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined };

/** The fixture's output under a pseudo-terminal (util-linux `script`), carriage returns dropped. */
async function underPseudoTerminal(fd: '1' | '2'): Promise<string> {
  const command = [process.execPath, ...NODE_ARGS, fd].map((arg) => `'${arg}'`).join(' ');
  const { stdout } = await run('script', ['-q', '-e', '-c', command, '/dev/null'], { cwd: ROOT, env: ENV });
  return stdout.replace(/\r/g, '');
}

describe('log format', () => {
  it('is pretty for a terminal and JSON for a pipe, a file or an unknown stream', () => {
    assert.equal(logFormatFor({ isTTY: true }), 'pretty');
    assert.equal(logFormatFor({ isTTY: false }), 'json');
    assert.equal(logFormatFor({}), 'json');
  });

  it('writes human lines, secrets masked, when stdout is a pseudo-terminal', async function () {
    this.timeout(20_000);
    const text = await underPseudoTerminal('1');
    assert.match(text, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: probe line \{"operation":"CatalogList","note":"\[REDACTED\]"\}$/m);
    assert.ok(!text.includes('fixture-secret-4f9d2a'), text);
    assert.ok(!text.includes('"level"'), `a JSON line reached the terminal:\n${text}`);
  });

  it('writes human lines on stderr when stderr is the terminal (operator commands)', async function () {
    this.timeout(20_000);
    assert.match(await underPseudoTerminal('2'), /INFO: probe line/);
  });

  it('writes one JSON object per line when stdout is a pipe', async function () {
    this.timeout(20_000);
    const { stdout } = await run(process.execPath, [...NODE_ARGS, '1'], { cwd: ROOT, env: ENV });
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 1, stdout);
    const line = JSON.parse(lines[0]) as Record<string, unknown>;
    assert.equal(line.level, 30);
    assert.equal(line.msg, 'probe line');
    assert.equal(line.note, '[REDACTED]');
  });
});

describe('request log level', () => {
  it('is debug for a quick operation without errors', () => {
    assert.equal(requestLogLevel({ errorCount: 0, durationMs: 3 }), 'debug');
    assert.equal(requestLogLevel({ errorCount: 0, durationMs: SLOW_REQUEST_MS - 0.1 }), 'debug');
  });

  it('is info for an operation with errors or one that took SLOW_REQUEST_MS or more', () => {
    assert.equal(requestLogLevel({ errorCount: 1, durationMs: 3 }), 'info');
    assert.equal(requestLogLevel({ errorCount: 0, durationMs: SLOW_REQUEST_MS }), 'info');
  });
});
