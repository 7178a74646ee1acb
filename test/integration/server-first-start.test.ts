import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { postGraphQL, usingPostgres } from '../helpers/server';
import { runServerCommand, startServerProcess } from '../helpers/server-process';
import { TestMeIdsDocument as ME, TestMeRoleAndHandleDocument } from '../../generated/test-operations';

const ROOT = path.resolve(__dirname, '../..');
const KEY = /vk_[A-Za-z0-9_]{20,}/g;
const hasScript = spawnSync('script', ['--version']).status === 0;

interface TerminalServer {
  child: ChildProcess;
  output(): string;
  graphqlUrl: string;
  stop(): Promise<void>;
}

/** `mp-server start` with its stdout on a pseudo-terminal (util-linux `script`), as `npm start` in a terminal has it. */
async function startOnTerminal(dataDir: string): Promise<TerminalServer> {
  const command = `exec ${JSON.stringify(process.execPath)} --require tsx/cjs server/main.ts start`;
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'test', MP_LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0', MP_DATA_DIR: dataDir };
  delete env.DATABASE_URL;
  const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
  const graphqlUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start in 60 s:\n${output}`)), 60_000);
    const look = () => {
      // The banner is written in one piece; wait for its end (the blank line after the last entry).
      const match = /GraphQL \+ GraphiQL: (http:\/\/\S+\/graphql)[\s\S]*?\r?\n\r?\n/.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off('data', look);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', look);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before it started:\n${output}`));
    });
  });
  return {
    child,
    graphqlUrl,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

describe('the first start of the embedded server', function () {
  this.timeout(150_000);
  let dataDir: string;

  beforeEach(async function () {
    if (usingPostgres) return this.skip();
    dataDir = await mkdtemp(path.join(tmpdir(), 'mp-first-start-'));
  });

  afterEach(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('on a terminal prints a working key of the demo vendor next to the GraphiQL URL, once, and in no log line', async function () {
    if (!hasScript) return this.skip();
    const first = await startOnTerminal(dataDir);
    let printed: string[];
    try {
      const lines = first.output().split(/\r?\n/);
      const urlLine = lines.findIndex((line) => line.includes('GraphQL + GraphiQL:'));
      const keyLine = lines.findIndex((line) => KEY.test(line));
      KEY.lastIndex = 0;
      assert.ok(urlLine >= 0 && keyLine > urlLine && keyLine - urlLine <= 3, `the key follows the GraphiQL URL:\n${first.output()}`);
      assert.match(lines[keyLine - 1], /First start: an API key of the demo vendor "NeuroNetIQ Demo Lab", shown only now/);
      printed = first.output().match(KEY) ?? [];
      assert.equal(new Set(printed).size, 1, 'one key');
      // On a terminal the log is human lines (pino-pretty): the key must be on the banner's line alone.
      assert.ok(/seeded/.test(first.output()), `the server logged:\n${first.output()}`);
      const holding = lines.filter((line) => line.includes(printed[0]));
      assert.deepEqual(holding, [lines[keyLine]], `only the banner holds the key:\n${holding.join('\n')}`);

      const me = await postGraphQL(first.graphqlUrl, TestMeRoleAndHandleDocument, {}, printed[0]);
      assert.equal(me.data?.me.role, 'VENDOR');
      assert.equal(me.data?.me.vendor?.handle, 'demo');
    } finally {
      await first.stop();
    }

    const second = await startOnTerminal(dataDir);
    try {
      assert.doesNotMatch(second.output(), KEY, 'no key on a later start');
      assert.doesNotMatch(second.output(), /First start/);
    } finally {
      await second.stop();
    }
  });

  it('without a terminal prints the one command that makes a key, which works while it runs, and nothing on later starts', async () => {
    const first = await startServerProcess({ MP_DATA_DIR: dataDir, MP_LOG_LEVEL: 'info' });
    try {
      assert.doesNotMatch(first.output(), KEY, 'no secret into a pipe');
      const hint = /First start: get an API key with `(mp-server vendor create-key --handle demo)`/.exec(first.output());
      assert.ok(hint, first.output());
      const made = await runServerCommand([...hint[1].split(' ').slice(1), '--json'], { MP_DATA_DIR: dataDir });
      assert.equal(made.code, 0, made.stderr);
      const { apiKey } = JSON.parse(made.stdout) as { apiKey: string };
      assert.equal((await postGraphQL(first.graphqlUrl, ME, {}, apiKey)).data?.me.role, 'VENDOR');
      assert.equal(first.child.exitCode, null);
    } finally {
      await first.stop();
    }
    const second = await startServerProcess({ MP_DATA_DIR: dataDir });
    try {
      assert.doesNotMatch(second.output(), /First start/);
    } finally {
      await second.stop();
    }
  });
});
