import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTestServer } from '../helpers/server';
import type { TestServer } from '../helpers/server';
import { runMp, spawnMp, type CliResult } from '../helpers/cli-process';
import type { ApiKeysQuery, CatalogListQuery, CatalogModelShowQuery, CreateApiKeyMutation, WhoamiQuery } from '../../generated/cli-operations';

function assertNoStack(result: CliResult): void {
  assert.doesNotMatch(result.stderr, /\n\s+at /, `unexpected stack trace:\n${result.stderr}`);
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line.length > 0);
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// What the commands print with --json: the results of the CLI's own operations.
type ApiKeyJson = ApiKeysQuery['apiKeys']['nodes'][number];
type CatalogModelJson = CatalogListQuery['catalog']['nodes'][number];

describe('mp CLI against the real server', function () {
  this.timeout(60_000);
  let server: TestServer;
  let configHome: string;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.close();
  });
  beforeEach(() => {
    configHome = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-cli-it-'));
  });
  afterEach(() => {
    fs.rmSync(configHome, { recursive: true, force: true });
  });

  const configFile = () => path.join(configHome, 'mp', 'config.json');

  it('logs in with a good key, saves it in a 0600 file, and whoami then works from the saved config', async () => {
    const vendor = await server.createVendor('CLI Login Vendor');
    const login = await runMp(['login', '--api-url', server.graphqlUrl, '--api-key', vendor.apiKey], { configHome });
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stdout, new RegExp(`Logged in to ${server.graphqlUrl} as CLI Login Vendor \\(${vendor.handle}\\)`));
    assert.ok(!login.stdout.includes(vendor.apiKey) && !login.stderr.includes(vendor.apiKey), 'the key was printed');
    assert.equal(fs.statSync(configFile()).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(fs.readFileSync(configFile(), 'utf8')), { apiUrl: server.graphqlUrl, apiKey: vendor.apiKey });

    const whoami = await runMp(['whoami'], { configHome });
    assert.equal(whoami.code, 0, whoami.stderr);
    assert.match(whoami.stdout, /Role:\s+vendor/);
    assert.match(whoami.stdout, new RegExp(`Vendor:\\s+CLI Login Vendor \\(${vendor.handle}\\)`));
    assert.match(whoami.stdout, /Key:\s+vk_/);
    assert.match(whoami.stdout, /Expires:/);

    const json = await runMp(['whoami', '--json'], { configHome });
    assert.equal(json.code, 0, json.stderr);
    const me = JSON.parse(json.stdout) as WhoamiQuery['me'];
    assert.equal(me.role, 'VENDOR');
    assert.equal(me.vendor?.handle, vendor.handle);
    assert.ok(vendor.apiKey.startsWith(me.apiKey.prefix.replace(/(…|\.\.\.)$/, '')));
  });

  it('reads the key from stdin, and says "as admin" for the admin key', async () => {
    const login = await runMp(['login', '--api-url', server.graphqlUrl], { configHome, stdin: `${server.adminKey}\n` });
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stdout, /as admin/);
  });

  it('refuses a bad key with exit 3 and saves nothing', async () => {
    const badKey = `vk_${'A'.repeat(12)}_${'B'.repeat(38)}`;
    const login = await runMp(['login', '--api-url', server.graphqlUrl, '--api-key', badKey], { configHome });
    assert.equal(login.code, 3, login.stderr);
    assert.match(login.stderr, /^mp: .*nothing was saved\n$/);
    assertNoStack(login);
    assert.equal(fs.existsSync(configFile()), false);
  });

  it('logout removes the saved key; whoami then says to log in (exit 3)', async () => {
    const vendor = await server.createVendor();
    assert.equal((await runMp(['login', '--api-url', server.graphqlUrl, '--api-key', vendor.apiKey], { configHome })).code, 0);
    const logout = await runMp(['logout'], { configHome });
    assert.equal(logout.code, 0, logout.stderr);
    assert.ok(!fs.readFileSync(configFile(), 'utf8').includes(vendor.apiKey));

    const again = await runMp(['logout'], { configHome });
    assert.equal(again.code, 0);
    assert.match(again.stdout, /not logged in/i);

    const whoami = await runMp(['whoami'], { configHome });
    assert.equal(whoami.code, 3);
    assert.equal(whoami.stderr, 'mp: not logged in: run `mp login` or set MP_API_KEY\n');
  });

  it('creates, lists and revokes a key; the revoked key then fails with exit 3', async () => {
    const vendor = await server.createVendor();
    const env = { MP_API_KEY: vendor.apiKey, MP_API_URL: server.graphqlUrl };

    const create = await runMp(['keys', 'create', '--name', 'ci', '--expires', '30d', '--json'], { configHome, env });
    assert.equal(create.code, 0, create.stderr);
    const created = JSON.parse(create.stdout) as CreateApiKeyMutation['createApiKey'];
    assert.match(created.secret, /^vk_/);
    assert.equal(created.apiKey.name, 'ci');
    const days = (new Date(created.apiKey.expiresAt!).getTime() - Date.now()) / 86_400_000;
    assert.ok(days > 29.9 && days < 30.1, `expires in ${days} days`);

    const human = await runMp(['keys', 'create', '--name', 'human'], { configHome, env });
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout.trim(), /^vk_\S+$/, 'stdout is the secret alone');
    assert.match(human.stderr, /shown only once/);

    const table = await runMp(['keys', 'list'], { configHome, env });
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ID\s+NAME\s+PREFIX\s+STATUS\s+CREATED\s+EXPIRES\s+LAST USED\n/);
    assert.match(table.stdout, new RegExp(`${created.apiKey.id}\\s+ci\\s+${created.apiKey.prefix}\\s+active`));

    const refused = await runMp(['keys', 'revoke', created.apiKey.id], { configHome, env });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--yes/);

    const revoke = await runMp(['keys', 'revoke', created.apiKey.id, '--yes'], { configHome, env });
    assert.equal(revoke.code, 0, revoke.stderr);
    assert.match(revoke.stdout, /Revoked/);

    const active = JSON.parse((await runMp(['keys', 'list', '--json'], { configHome, env })).stdout) as ApiKeyJson[];
    assert.ok(!active.some((key) => key.id === created.apiKey.id), 'revoked key listed without --all');
    const all = JSON.parse((await runMp(['keys', 'list', '--all', '--json'], { configHome, env })).stdout) as ApiKeyJson[];
    assert.equal(all.find((key) => key.id === created.apiKey.id)?.status, 'REVOKED');

    const revokedWhoami = await runMp(['whoami'], { configHome, env: { ...env, MP_API_KEY: created.secret } });
    assert.equal(revokedWhoami.code, 3, revokedWhoami.stderr);
    assert.match(revokedWhoami.stderr, /^mp: .+\n/);
    assert.match(revokedWhoami.stderr, /MP_API_KEY|mp login/);
    assertNoStack(revokedWhoami);

    const unknown = await runMp(['keys', 'revoke', 'key_doesnotexist', '--yes'], { configHome, env });
    assert.equal(unknown.code, 4, unknown.stderr);
  });

  it('exits quietly when its reader goes away (mp catalog list | head -0)', async () => {
    const proc = spawnMp(['catalog', 'list'], { configHome, env: { MP_API_URL: server.graphqlUrl } });
    proc.child.stdout!.destroy();
    const result = await proc.done;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '', 'no EPIPE error or stack trace');
  });

  it('lists and shows catalog models without a key, as tables and as JSON', async () => {
    const env = { MP_API_URL: server.graphqlUrl };
    const table = await runMp(['catalog', 'list'], { configHome, env });
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^SLUG\s+NAME\s+TASK\s+VENDOR\s+TAGS\s+SCORE\s+PUBLISHED\n/);
    assert.match(table.stdout, /\ndemo\//);
    assert.match(table.stdout, /\ndemo\/momentum-ridge .* [+-]0\.\d{4} r2 /, 'the demo round scored the demo models');

    const list = await runMp(['catalog', 'list', '--json', '--vendor', 'demo'], { configHome, env });
    assert.equal(list.code, 0, list.stderr);
    const models = JSON.parse(list.stdout) as CatalogModelJson[];
    assert.ok(models.length > 0, 'the seeded demo models are listed');
    assert.ok(
      models.every((m) => m.status !== 'DRAFT' && m.vendor.handle === 'demo'),
      'only listed models of demo',
    );

    const limited = JSON.parse((await runMp(['catalog', 'list', '--json', '--limit', '1'], { configHome, env })).stdout) as unknown[];
    assert.equal(limited.length, 1);

    const [first] = models;
    const show = await runMp(['catalog', 'show', first.slug], { configHome, env });
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, new RegExp(`Name:\\s+${first.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(show.stdout, new RegExp(`ID:\\s+${first.id}`));

    const byId = await runMp(['catalog', 'show', first.id, '--json'], { configHome, env });
    assert.equal(byId.code, 0, byId.stderr);
    assert.equal((JSON.parse(byId.stdout) as CatalogModelShowQuery['catalogModel']).slug, first.slug);
  });

  it('exits 4 for an unknown slug', async () => {
    const show = await runMp(['catalog', 'show', 'demo/no-such-model', '--api-url', server.graphqlUrl], { configHome });
    assert.equal(show.code, 4, show.stderr);
    assert.equal(lines(show.stderr).length, 1);
    assert.match(show.stderr, /^mp: /);
    assertNoStack(show);
  });

  it('exits 6 with one line and no stack trace when the server is down', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/graphql`;
    const result = await runMp(['catalog', 'list', '--api-url', url], { configHome });
    assert.equal(result.code, 6);
    assert.equal(result.stderr, `mp: cannot reach ${url}: connection refused\n`);
    assert.equal(result.stdout, '');
  });

  it('exits 6 when the URL answers but is not the marketplace API', async () => {
    const wrong = new URL('/no-such-path', server.graphqlUrl).toString();
    const result = await runMp(['catalog', 'list', '--api-url', wrong], { configHome });
    assert.equal(result.code, 6, result.stderr);
    assert.match(result.stderr, /^mp: no marketplace API at .*no-such-path\/graphql \(HTTP \d{3}\)\n$/);
  });
});
