import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server';
import { runMp } from '../helpers/cli-process';
import { listenLocally } from '../helpers/cli-fakes';

describe('mp login follows the server, not the spelling of its URL', function () {
  this.timeout(60_000);
  let server: TestServer;
  let port: string;
  let configHome: string;
  let vendorKey: string;
  /** Another server on this machine: it must never see the key saved for `server`. */
  let other: http.Server;
  let otherUrl: string;
  const otherRequests: http.IncomingHttpHeaders[] = [];

  before(async () => {
    server = await startTestServer();
    port = new URL(server.url).port;
    vendorKey = (await server.createVendor('Spelling Vendor')).apiKey;
    other = http.createServer((req, res) => {
      otherRequests.push(req.headers);
      res.writeHead(404).end();
    });
    otherUrl = await listenLocally(other);
  });
  after(async () => {
    await server?.close();
    await new Promise((resolve) => other?.close(resolve));
  });
  beforeEach(async () => {
    configHome = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-login-url-'));
    const login = await runMp(['login', '--api-url', `http://127.0.0.1:${port}`], { configHome, stdin: `${vendorKey}\n` });
    assert.equal(login.code, 0, login.stderr);
  });
  afterEach(() => {
    fs.rmSync(configHome, { recursive: true, force: true });
  });

  for (const spelling of ['http://localhost:PORT', 'http://localhost:PORT/', 'http://LOCALHOST:PORT/graphql/', 'http://[::ffff:127.0.0.1]:PORT/graphql']) {
    it(`uses the key saved for http://127.0.0.1:PORT with --api-url ${spelling}`, async () => {
      const apiUrl = spelling.replace('PORT', port);
      const whoami = await runMp(['whoami', '--api-url', apiUrl], { configHome });
      assert.equal(whoami.code, 0, whoami.stderr);
      assert.match(whoami.stdout, /Vendor:\s+Spelling Vendor/);
      assert.match(whoami.stdout, new RegExp(`Key from:\\s+${configHome}/mp/config.json`));
    });
  }

  it('uses it with MP_API_URL spelled another way too', async () => {
    const whoami = await runMp(['whoami', '--json'], { configHome, env: { MP_API_URL: `http://localhost:${port}/graphql` } });
    assert.equal(whoami.code, 0, whoami.stderr);
    assert.equal((JSON.parse(whoami.stdout) as { apiKeySource: string }).apiKeySource, 'config file');
  });

  it('does not send it to another server, and says exactly which URL has a saved key', async () => {
    const whoami = await runMp(['whoami', '--api-url', otherUrl], { configHome });
    assert.equal(whoami.code, 3);
    assert.equal(
      whoami.stderr,
      `mp: not logged in to ${otherUrl}/graphql: the saved key is for http://127.0.0.1:${port}/graphql\n` +
        `Run \`mp login --api-url ${otherUrl}/graphql\` to save a key for this server, or pass --api-url http://127.0.0.1:${port}/graphql.\n`,
    );
    assert.deepEqual(otherRequests, []);
  });

  it('warns that --api-key lands in shell history, and does not when the key comes on stdin', async () => {
    const flag = await runMp(['login', '--api-url', server.url, '--api-key', vendorKey], { configHome });
    assert.equal(flag.code, 0, flag.stderr);
    const warning = '! A key given with --api-key lands in your shell history: next time pipe it on stdin or set MP_API_KEY.\n';
    assert.ok(flag.stderr.endsWith(`saved in ${configHome}/mp/config.json\n${warning}`), flag.stderr);
    const piped = await runMp(['login', '--api-url', server.url], { configHome, stdin: vendorKey });
    assert.equal(piped.code, 0, piped.stderr);
    assert.doesNotMatch(piped.stderr, /shell history|^!/m);
  });
});
