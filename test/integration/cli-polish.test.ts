import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { subscribeOnce } from '../../cli/subscribe';
import { TrainLogsFollowDocument } from '../../generated/cli-operations';
import { runMp } from '../helpers/cli-process';
import { closeServer, listenLocally } from '../helpers/cli-fakes';

const ROOT = path.resolve(__dirname, '..', '..');

describe('mp CLI polish', function () {
  this.timeout(60_000);

  describe('mp completion', () => {
    let bin: string;
    before(() => {
      // The scripts call `mp` by name, as an installed CLI would be.
      bin = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-completion-'));
      const mp = path.join(bin, 'mp');
      fs.writeFileSync(mp, `#!/bin/sh\nexec "${process.execPath}" --require "${require.resolve('tsx/cjs')}" "${path.join(ROOT, 'cli', 'main.ts')}" "$@"\n`);
      fs.chmodSync(mp, 0o755);
    });
    after(() => fs.rmSync(bin, { recursive: true, force: true }));

    /** What bash offers after typing `line` and pressing Tab, with the script `mp completion` printed loaded. */
    async function bashCompletes(script: string, line: string[]): Promise<string[]> {
      const program = `${script}\nCOMP_WORDS=(${line.map((word) => `'${word}'`).join(' ')}); COMP_CWORD=${line.length - 1}\n_mp_yargs_completions\nprintf '%s\\n' "\${COMPREPLY[@]}"`;
      const { stdout } = await promisify(execFile)('bash', ['--norc', '--noprofile', '-c', program], {
        env: { PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: bin },
      });
      return stdout.split('\n').filter(Boolean);
    }

    it('prints a bash script whose completions are the real commands and flags', async () => {
      const result = await runMp(['completion'], { env: { SHELL: '/bin/bash' } });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^complete -o bashdefault -o default -F _mp_yargs_completions mp$/m);
      assert.deepEqual(await bashCompletes(result.stdout, ['mp', 'ke']), ['keys']);
      assert.deepEqual(await bashCompletes(result.stdout, ['mp', 'keys', '']), ['create', 'list', 'revoke']);
      assert.deepEqual(await bashCompletes(result.stdout, ['mp', 'keys', 'create', '--ex']), ['--expires']);
    });

    it('prints a zsh script when the shell is zsh, and answers its name:description protocol', async () => {
      const result = await runMp(['completion'], { env: { SHELL: '/usr/bin/zsh' } });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^#compdef mp\n/);
      assert.match(result.stdout, /compdef _mp_yargs_completions mp/);
      const words = await runMp(['--get-yargs-completions', 'mp', 'ca'], { env: { SHELL: '/usr/bin/zsh' } });
      const lines = words.stdout.split('\n');
      assert.ok(lines.includes('catalog:Browse the public catalog of models'), words.stdout);
      assert.ok(lines.includes('completion:Print a bash or zsh completion script: mp completion >> ~/.bashrc'), words.stdout);
    });
  });

  describe('usage errors', () => {
    const unknown: Array<[string[], string]> = [
      [['logn'], 'mp: unknown command "logn" for mp: did you mean `mp login`?\nRun `mp --help` to see its commands.\n'],
      [['--api-url', 'http://127.0.0.1:1', 'whoamy'], 'mp: unknown command "whoamy" for mp: did you mean `mp whoami`?\nRun `mp --help` to see its commands.\n'],
      [['xyzzy'], 'mp: unknown command "xyzzy" for mp\nRun `mp --help` to see its commands.\n'],
      [['keys', 'revok', 'key_1'], 'mp: unknown command "revok" for mp keys: did you mean `mp keys revoke`?\nRun `mp keys --help` to see its commands.\n'],
      [['keys', 'xyz'], 'mp: unknown command "xyz" for mp keys\nRun `mp keys --help` to see its commands.\n'],
      [
        ['deploy', 'token', 'rotat', 'dep_1'],
        'mp: unknown command "rotat" for mp deploy token: did you mean `mp deploy token rotate`?\nRun `mp deploy token --help` to see its commands.\n',
      ],
    ];
    for (const [argv, stderr] of unknown) {
      it(`\`mp ${argv.join(' ')}\` is one usage error in the one style, with a real suggestion when one is close`, async () => {
        const result = await runMp(argv);
        assert.equal(result.code, 2);
        assert.equal(result.stderr, stderr);
        assert.equal(result.stdout, '');
      });
    }

    it('refuses a single-value flag given twice, naming it, before any other check of its value', async () => {
      const name = await runMp(['keys', 'create', '--name', 'a', '--name', 'b']);
      assert.equal(name.code, 2);
      assert.equal(name.stderr, 'mp: --name was given more than once ("a", "b"): give it once\nRun `mp keys create --help` for usage.\n');
      const limit = await runMp(['catalog', 'list', '--limit', '5', '--limit', '6']);
      assert.equal(limit.code, 2);
      assert.match(limit.stderr, /^mp: --limit was given more than once \("5", "6"\): give it once\n/);
      const alias = await runMp(['train', 'logs', 'run_1', '--tail', '3', '--tail', '4']);
      assert.match(alias.stderr, /^mp: --tail was given more than once/);
    });

    it('still takes a repeatable flag many times, and a repeated boolean', async () => {
      // Parsing passes; the command then stops for want of a key (exit 3), not for usage.
      const result = await runMp(['train', 'start', '--task', 'signal', '--hp', 'a=1', '--hp', 'b=2', '--json', '--json']);
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.stderr, /^mp: not logged in/);
    });
  });

  describe('TLS errors', () => {
    let plain: http.Server;
    let plainUrl: string;
    let selfSigned: https.Server;
    let selfSignedPort: number;

    before(async () => {
      plain = http.createServer((_req, res) => res.writeHead(404).end());
      plainUrl = await listenLocally(plain);
      const tls = path.join(ROOT, 'test', 'fixtures', 'tls');
      selfSigned = https.createServer(
        { cert: fs.readFileSync(path.join(tls, 'localhost-cert.pem')), key: fs.readFileSync(path.join(tls, 'localhost-key.pem')) },
        (_req, res) => res.writeHead(404).end(),
      );
      await new Promise<void>((resolve) => selfSigned.listen(0, '127.0.0.1', resolve));
      selfSignedPort = (selfSigned.address() as AddressInfo).port;
    });
    after(async () => {
      await closeServer(plain);
      await closeServer(selfSigned as unknown as http.Server);
    });

    it('says in one sentence that an https:// URL points at a plain-HTTP server (exit 6)', async () => {
      const url = plainUrl.replace('http:', 'https:');
      const result = await runMp(['catalog', 'list', '--api-url', url]);
      assert.equal(result.code, 6);
      assert.equal(result.stderr, `mp: cannot reach ${url}/graphql: the server does not speak TLS there (use http:// if it serves plain HTTP)\n`);
    });

    it('names a certificate problem without OpenSSL text', async () => {
      const url = `https://127.0.0.1:${selfSignedPort}`;
      const result = await runMp(['catalog', 'list', '--api-url', url]);
      assert.equal(result.code, 6);
      assert.match(result.stderr, new RegExp(`^mp: cannot reach ${url}/graphql: (self-signed TLS certificate|TLS certificate [a-z -]+)\\n$`));
    });

    it('says the same for a subscription over wss:// to a plain-HTTP server', async () => {
      const end = await subscribeOnce(
        { apiUrl: `${plainUrl.replace('http:', 'https:')}/graphql` },
        TrainLogsFollowDocument,
        { runId: 'run_1', afterSeq: 0 },
        { onData: () => 'stop', timeoutMs: 5_000 },
      );
      assert.deepEqual(end, { kind: 'failed', message: 'the server does not speak TLS there (use http:// if it serves plain HTTP)' });
    });
  });
});
