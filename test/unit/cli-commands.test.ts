import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { run as catalogList } from '../../cli/commands/catalog/list';
import { run as catalogShow } from '../../cli/commands/catalog/show';
import { run as keysCreate } from '../../cli/commands/keys/create';
import { run as keysList } from '../../cli/commands/keys/list';
import { run as keysRevoke } from '../../cli/commands/keys/revoke';
import { run as login } from '../../cli/commands/login';
import { run as logout } from '../../cli/commands/logout';
import { run as whoami } from '../../cli/commands/whoami';
import { ExitCode } from '../../cli/errors';
import type { GlobalArgs } from '../../cli/global-options';
import type { Io } from '../../cli/io';
import { BufferedOutput, expectCliError, fakeGraphqlApi, inProcessIo, type GraphqlResponder } from '../helpers/cli-fakes';

const GOOD_KEY = `vk_${'a'.repeat(12)}_${'b'.repeat(38)}`;
const vendor = { id: 'ven_1', handle: 'acme', displayName: 'Acme Labs', email: 'a@acme.test', status: 'ACTIVE', createdAt: '2026-01-01T00:00:00.000Z' };
const me = {
  role: 'VENDOR',
  vendor,
  apiKey: { id: 'key_1', name: 'laptop', prefix: 'vk_aaaaaaaaaaaa', expiresAt: '2027-01-01T00:00:00.000Z', lastUsedAt: null },
};
const unauthenticated = { data: null, errors: [{ message: 'invalid API key', extensions: { code: 'UNAUTHENTICATED' } }] };

function model(n: number) {
  return {
    id: `mdl_${n}`,
    name: `Model ${n}`,
    slug: `acme/model-${n}`,
    description: `Description ${n}`,
    task: 'SIGNAL',
    status: 'PUBLISHED',
    tags: ['momentum', 'daily'],
    createdAt: '2026-11-01T00:00:00.000Z',
    publishedAt: '2026-11-02T00:00:00.000Z',
    vendor: { id: 'ven_1', handle: 'acme', displayName: 'Acme Labs' },
    latestScores: n === 1 ? { round: 2, method: 'CROSS_SECTIONAL', rank: 1, corr: { mean: 0.0123 } } : null,
    liveStatus: 'OFFLINE',
    liveSince: null,
  };
}

describe('cli commands', () => {
  let configHome: string;
  let api: Awaited<ReturnType<typeof fakeGraphqlApi>> | undefined;
  let stdout: BufferedOutput;
  let stderr: BufferedOutput;

  beforeEach(() => {
    configHome = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-cmd-'));
    stdout = new BufferedOutput();
    stderr = new BufferedOutput();
  });
  afterEach(async () => {
    await api?.close();
    api = undefined;
    fs.rmSync(configHome, { recursive: true, force: true });
  });

  const configFile = () => path.join(configHome, 'mp', 'config.json');

  function io(options: { stdin?: string; tty?: boolean; env?: NodeJS.ProcessEnv } = {}): Io {
    return inProcessIo(stdout, stderr, { XDG_CONFIG_HOME: configHome, ...options.env }, { text: options.stdin, tty: options.tty ?? false });
  }

  function globals(json = false): GlobalArgs {
    assert.ok(api, 'start the fake API first');
    return { apiUrl: api.url, json, verbose: false, color: false };
  }

  async function loggedIn(respond: GraphqlResponder): Promise<void> {
    api = await fakeGraphqlApi((op, vars, auth) => (op === 'Whoami' ? { data: { me } } : respond(op, vars, auth)));
    await login({ ...globals(), apiKey: GOOD_KEY }, io());
    stdout.text = '';
    stderr.text = '';
    api.seen.length = 0;
  }

  describe('mp login', () => {
    it('checks the key with Whoami, then saves URL and key in a 0600 file, never printing the key', async () => {
      api = await fakeGraphqlApi(() => ({ data: { me } }));
      await login({ ...globals(), apiKey: GOOD_KEY }, io());
      assert.equal(api.seen[0].operationName, 'Whoami');
      assert.equal(api.seen[0].authorization, `Bearer ${GOOD_KEY}`);
      assert.equal(fs.statSync(configFile()).mode & 0o777, 0o600);
      assert.deepEqual(JSON.parse(fs.readFileSync(configFile(), 'utf8')), { apiUrl: api.url, apiKey: GOOD_KEY });
      assert.equal(stdout.text, `✓ Logged in to ${api.url} as Acme Labs (acme)\n`);
      assert.ok(!stdout.text.includes(GOOD_KEY) && !stderr.text.includes(GOOD_KEY));
    });

    it('says "as admin" for an admin key', async () => {
      api = await fakeGraphqlApi(() => ({ data: { me: { ...me, role: 'ADMIN', vendor: null } } }));
      await login({ ...globals(), apiKey: GOOD_KEY }, io());
      assert.match(stdout.text, /as admin\n$/);
    });

    it('reads the key from stdin when stdin is not a terminal', async () => {
      api = await fakeGraphqlApi(() => ({ data: { me } }));
      await login(globals(), io({ stdin: `${GOOD_KEY}\n` }));
      assert.equal(api.seen[0].authorization, `Bearer ${GOOD_KEY}`);
    });

    it('falls back to MP_API_KEY before stdin', async () => {
      api = await fakeGraphqlApi(() => ({ data: { me } }));
      await login(globals(), io({ env: { MP_API_KEY: GOOD_KEY }, stdin: 'ignored' }));
      assert.equal(api.seen[0].authorization, `Bearer ${GOOD_KEY}`);
    });

    it('saves nothing and exits 3 when the server rejects the key', async () => {
      api = await fakeGraphqlApi(() => unauthenticated);
      const error = await expectCliError(login({ ...globals(), apiKey: 'vk_bad' }, io()), ExitCode.AUTH);
      assert.match(error.message, /invalid API key; nothing was saved/);
      assert.equal(fs.existsSync(configFile()), false);
    });

    it('is a usage error when no key is given at all', async () => {
      api = await fakeGraphqlApi(() => ({ data: { me } }));
      await expectCliError(login(globals(), io({ stdin: '  \n' })), ExitCode.USAGE);
      assert.equal(api.seen.length, 0);
    });

    it('prints JSON without the key with --json', async () => {
      api = await fakeGraphqlApi(() => ({ data: { me } }));
      await login({ ...globals(true), apiKey: GOOD_KEY }, io());
      const printed = JSON.parse(stdout.text) as { apiUrl: string; vendor: { handle: string } };
      assert.equal(printed.apiUrl, api.url);
      assert.equal(printed.vendor.handle, 'acme');
      assert.ok(!stdout.text.includes(GOOD_KEY));
    });
  });

  describe('mp logout', () => {
    it('removes the saved key and keeps the URL', async () => {
      await loggedIn(() => ({}));
      await logout(globals(), io());
      assert.deepEqual(JSON.parse(fs.readFileSync(configFile(), 'utf8')), { apiUrl: api?.url });
      assert.match(stdout.text, /Logged out/);
    });

    it('says "not logged in" and succeeds when there is no key', async () => {
      api = await fakeGraphqlApi(() => ({}));
      await logout(globals(), io());
      assert.match(stdout.text, /not logged in/i);
    });
  });

  describe('mp whoami', () => {
    it('fails with exit 3 and the login hint before any request when no key is configured', async () => {
      api = await fakeGraphqlApi(() => ({ data: { me } }));
      const error = await expectCliError(whoami(globals(), io()), ExitCode.AUTH);
      assert.equal(error.message, 'not logged in: run `mp login` or set MP_API_KEY');
      assert.equal(api.seen.length, 0);
    });

    it('shows role, vendor, key prefix and expiry', async () => {
      await loggedIn(() => ({}));
      await whoami(globals(), io());
      assert.match(stdout.text, /Role:\s+vendor/);
      assert.match(stdout.text, /Vendor:\s+Acme Labs \(acme\)/);
      assert.match(stdout.text, /Key:\s+vk_aaaaaaaaaaaa… "laptop" \(key_1\)/);
      assert.match(stdout.text, /Expires:\s+2027-01-01 00:00 UTC \(in /);
    });

    it('shows the server message and the login hint for a revoked key', async () => {
      api = await fakeGraphqlApi(() => ({
        data: null,
        errors: [{ message: 'this API key was revoked', extensions: { code: 'UNAUTHENTICATED' } }],
      }));
      const error = await expectCliError(whoami(globals(), io({ env: { MP_API_KEY: GOOD_KEY } })), ExitCode.AUTH);
      assert.equal(error.message, 'this API key was revoked');
      assert.match(error.hint ?? '', /MP_API_KEY/);
    });
  });

  describe('mp keys', () => {
    const created = {
      secret: `vk_${'c'.repeat(12)}_${'d'.repeat(38)}`,
      apiKey: {
        id: 'key_2',
        name: 'ci',
        prefix: 'vk_cccccccccccc',
        role: 'VENDOR',
        status: 'ACTIVE',
        createdAt: '2026-11-25T00:00:00.000Z',
        expiresAt: '2026-12-25T00:00:00.000Z',
      },
    };

    it('create prints the secret alone on stdout and the warning on stderr', async () => {
      await loggedIn(() => ({ data: { createApiKey: created } }));
      const expires = new Date('2026-12-25T00:00:00.000Z');
      await keysCreate({ ...globals(), name: 'ci', expires }, io());
      assert.deepEqual(api?.seen[0].variables, { input: { name: 'ci', expiresAt: '2026-12-25T00:00:00.000Z' } });
      assert.equal(stdout.text, `${created.secret}\n`);
      assert.match(stderr.text, /shown only once/);
    });

    it('create --json prints the whole payload including the secret', async () => {
      await loggedIn(() => ({ data: { createApiKey: created } }));
      await keysCreate({ ...globals(true), name: 'ci', expires: null }, io());
      assert.deepEqual(JSON.parse(stdout.text), created);
      assert.deepEqual(api?.seen[0].variables, { input: { name: 'ci', expiresAt: null } });
    });

    it('create shows each invalid field and exits 5', async () => {
      await loggedIn(() => ({
        data: null,
        errors: [{ message: 'invalid input', extensions: { code: 'BAD_USER_INPUT', fields: [{ field: 'input.name', message: 'too long' }] } }],
      }));
      const error = await expectCliError(keysCreate({ ...globals(), name: 'x'.repeat(65) }, io()), ExitCode.INVALID);
      assert.deepEqual(error.details, ['input.name: too long']);
    });

    it('list follows every page and prints a table', async () => {
      const key = (id: string, status: string) => ({
        id,
        name: `name-${id}`,
        prefix: `vk_${id}`,
        role: 'VENDOR',
        status,
        createdAt: '2026-11-01T00:00:00.000Z',
        expiresAt: null,
        lastUsedAt: '2026-11-20T10:00:00.000Z',
        revokedAt: null,
      });
      await loggedIn((_op, vars) =>
        vars.after === null
          ? { data: { apiKeys: { totalCount: 2, pageInfo: { hasNextPage: true, endCursor: 'c1' }, nodes: [key('key_1', 'ACTIVE')] } } }
          : { data: { apiKeys: { totalCount: 2, pageInfo: { hasNextPage: false, endCursor: 'c2' }, nodes: [key('key_2', 'REVOKED')] } } },
      );
      await keysList({ ...globals(), all: true }, io());
      assert.deepEqual(
        api?.seen.map((r) => [r.variables.after, r.variables.includeRevoked]),
        [
          [null, true],
          ['c1', true],
        ],
      );
      const lines = stdout.text.trimEnd().split('\n');
      assert.match(lines[0], /^ID\s+NAME\s+PREFIX\s+STATUS\s+CREATED\s+EXPIRES\s+LAST USED$/);
      assert.match(lines[1], /^key_1\s+name-key_1\s+vk_key_1\s+active\s+2026-11-01\s+never\s+2026-11-20$/);
      assert.match(lines[2], /^key_2 .* revoked /);
    });

    it('revoke refuses without --yes when stdin is not a terminal (exit 2), before any request', async () => {
      await loggedIn(() => ({}));
      const error = await expectCliError(keysRevoke({ ...globals(), id: 'key_2', yes: false }, io()), ExitCode.USAGE);
      assert.match(error.message, /pass --yes/);
      assert.equal(api?.seen.length, 0);
    });

    it('revoke --yes revokes the key', async () => {
      await loggedIn(() => ({
        data: { revokeApiKey: { id: 'key_2', name: 'ci', prefix: 'vk_cccccccccccc', status: 'REVOKED', revokedAt: '2026-11-25T00:00:00.000Z' } },
      }));
      await keysRevoke({ ...globals(), id: 'key_2', yes: true }, io());
      assert.deepEqual(api?.seen[0].variables, { id: 'key_2' });
      assert.match(stdout.text, /Revoked API key "ci" \(key_2/);
    });

    it('revoke warns when the revoked key is the one in use (the server may end prefixes with …)', async () => {
      await loggedIn(() => ({
        data: { revokeApiKey: { id: 'key_1', name: 'laptop', prefix: 'vk_aaaaaaaaaaaa_…', status: 'REVOKED', revokedAt: '2026-11-25T00:00:00.000Z' } },
      }));
      await keysRevoke({ ...globals(), id: 'key_1', yes: true }, io());
      assert.match(stdout.text, /\(key_1, vk_aaaaaaaaaaaa_…\)/);
      assert.match(stderr.text, /That was the key this CLI is using/);
    });

    it('revoke of an unknown id exits 4', async () => {
      await loggedIn(() => ({ data: null, errors: [{ message: 'no API key key_x', extensions: { code: 'NOT_FOUND' } }] }));
      await expectCliError(keysRevoke({ ...globals(), id: 'key_x', yes: true }, io()), ExitCode.NOT_FOUND);
    });
  });

  describe('mp catalog', () => {
    const pageSize = 2;
    function catalogPages(total: number): GraphqlResponder {
      return (_op, vars) => {
        const start = vars.after ? Number(vars.after) : 0;
        const count = Math.min(Number(vars.first), pageSize, total - start);
        const nodes = Array.from({ length: count }, (_, i) => model(start + i + 1));
        const end = start + count;
        return { data: { catalog: { totalCount: total, pageInfo: { hasNextPage: end < total, endCursor: String(end) }, nodes } } };
      };
    }
    const listArgs = () => ({ ...globals(), limit: 20, sort: 'published' as const });

    it('list pages through `after` until --limit models are shown, without sending a key', async () => {
      await loggedIn(catalogPages(9));
      await catalogList({ ...listArgs(), limit: 5, task: 'signal', search: 'mom', vendor: 'acme', sort: 'name' }, io());
      assert.deepEqual(
        api?.seen.map((r) => [r.variables.first, r.variables.after]),
        [
          [5, null],
          [3, '2'],
          [1, '4'],
        ],
      );
      assert.deepEqual(api?.seen[0].variables.filter, { task: 'SIGNAL', search: 'mom', vendor: 'acme' });
      assert.equal(api?.seen[0].variables.sort, 'NAME_ASC');
      assert.ok(api?.seen.every((r) => r.authorization === undefined));
      const lines = stdout.text.trimEnd().split('\n');
      assert.match(lines[0], /^SLUG\s+NAME\s+TASK\s+VENDOR\s+TAGS\s+SCORE\s+PUBLISHED$/);
      assert.equal(lines.length, 6);
      assert.match(lines[1], /^acme\/model-1\s+Model 1\s+signal\s+acme\s+momentum,daily\s+\+0\.0123 r2\s+2026-11-02$/);
      assert.match(lines[2], /^acme\/model-2\s+Model 2\s+signal\s+acme\s+momentum,daily\s+-\s+2026-11-02$/);
      assert.match(stderr.text, /Showing 5 of 9 models/);
    });

    it('list stops when the catalog has no more pages', async () => {
      api = await fakeGraphqlApi(catalogPages(3));
      await catalogList({ ...listArgs(), json: true }, io());
      const models = JSON.parse(stdout.text) as Array<{ slug: string }>;
      assert.deepEqual(
        models.map((m) => m.slug),
        ['acme/model-1', 'acme/model-2', 'acme/model-3'],
      );
      assert.equal(api.seen.length, 2);
    });

    it('list says so on stderr when nothing matches', async () => {
      api = await fakeGraphqlApi(catalogPages(0));
      await catalogList(listArgs(), io());
      assert.equal(stdout.text, '');
      assert.match(stderr.text, /No published models match/);
    });

    it('show looks up mdl_ ids by id and anything else by slug', async () => {
      api = await fakeGraphqlApi(() => ({ data: { catalogModel: model(1), modelPerformance: { rounds: [] } } }));
      await catalogShow({ ...globals(), model: 'mdl_1' }, io());
      await catalogShow({ ...globals(), model: 'acme/model-1' }, io());
      assert.deepEqual(
        api.seen.map((r) => r.variables),
        [{ id: 'mdl_1' }, { slug: 'acme/model-1' }],
      );
      assert.match(stdout.text, /Task:\s+signal/);
      assert.match(stdout.text, /\nDescription 1\n/);
      assert.match(stdout.text, /Not scored yet/);
    });

    it('show of an unknown slug exits 4', async () => {
      api = await fakeGraphqlApi(() => ({ data: null, errors: [{ message: 'no model acme/nope', extensions: { code: 'NOT_FOUND' } }] }));
      await expectCliError(catalogShow({ ...globals(), model: 'acme/nope' }, io()), ExitCode.NOT_FOUND);
    });
  });
});
