import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPostgresDatabase, postGraphQL, usingPostgres } from '../helpers/server';
import { eventually } from '../helpers/processes';
import { runServerCommand, startServerProcess, type ProcessResult, type RunningServer } from '../helpers/server-process';
import { sp500CsvPath } from '../../server/modules/datasets/sample-data';
import { TestMeIdsDocument as ME } from '../../generated/test-operations';

function json<T>(result: ProcessResult): T {
  assert.equal(result.code, 0, `exit ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

async function introspectStatus(url: string, clientId: string, clientSecret: string): Promise<number> {
  const response = await fetch(`${url}/oauth/introspect`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` },
    body: 'token=sit_not_a_real_token',
  });
  await response.arrayBuffer();
  return response.status;
}

describe('operator commands (mp-server vendor, admin, rounds, infra)', function () {
  this.timeout(120_000);

  describe('on the embedded database', () => {
    let dataDir: string;
    let server: RunningServer | undefined;
    const env = () => ({ MP_DATA_DIR: dataDir });
    const socketPath = () => path.join(dataDir, 'mp-server.sock');

    before(async function () {
      if (usingPostgres) return this.skip();
      dataDir = await mkdtemp(path.join(tmpdir(), 'mp-operator-'));
    });

    after(async () => {
      await server?.stop('SIGKILL');
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    it('runs vendor create, admin create-key, rounds and infra commands in the running server without stopping it', async () => {
      server = await startServerProcess(env());
      const pid = server.child.pid;

      const socket = statSync(socketPath());
      assert.ok(socket.isSocket(), 'the operator socket is in MP_DATA_DIR');
      assert.equal(socket.mode & 0o777, 0o600, 'only the owner may connect');
      assert.equal(socket.uid, process.getuid?.());

      const vendor = json<{ apiKey: string; vendorId: string }>(
        await runServerCommand(['vendor', 'create', '--name', 'Live Quant', '--email', 'live@example.com', '--json'], env()),
      );
      const me = await postGraphQL(server.graphqlUrl, ME, {}, vendor.apiKey);
      assert.equal(me.data?.me.role, 'VENDOR');
      assert.equal(me.data?.me.vendor?.id, vendor.vendorId);

      const admin = json<{ apiKey: string }>(await runServerCommand(['admin', 'create-key', '--json'], env()));
      assert.equal((await postGraphQL(server.graphqlUrl, ME, {}, admin.apiKey)).data?.me.role, 'ADMIN');

      const demoKey = json<{ apiKey: string; handle: string }>(await runServerCommand(['vendor', 'create-key', '--handle', 'demo', '--json'], env()));
      assert.equal(demoKey.handle, 'demo');
      assert.equal((await postGraphQL(server.graphqlUrl, ME, {}, demoKey.apiKey)).data?.me.role, 'VENDOR');

      const created = json<{ number: number; status: string; files: { name: string }[] }>(
        await runServerCommand(['rounds', 'create', '--from', sp500CsvPath(), '--symbol', 'SPX', '--name', 'Live round', '--json'], env()),
      );
      assert.equal(created.status, 'UPCOMING');
      assert.ok(created.files.length >= 3, 'the round files were written');
      const opened = json<{ status: string }>(await runServerCommand(['rounds', 'open', String(created.number), '--json'], env()));
      assert.equal(opened.status, 'OPEN');
      const rounds = json<{ number: number; name: string; status: string }[]>(await runServerCommand(['rounds', 'list', '--json'], env()));
      assert.deepEqual(
        rounds.map((round) => round.number).sort(),
        [1, 2, created.number].sort(),
        'the seeded rounds (open, and the resolved demo) and the new one',
      );
      const listed = await runServerCommand(['rounds', 'list'], env());
      assert.match(listed.stdout, new RegExp(`${created.number}\\s+OPEN\\s+Live round`));

      const client = json<{ clientId: string; clientSecret: string }>(await runServerCommand(['infra', 'create-client', '--name', 'gateway', '--json'], env()));
      assert.equal(await introspectStatus(server.url, client.clientId, client.clientSecret), 200);
      const revoked = json<{ revokedAt: string | null }>(await runServerCommand(['infra', 'revoke-client', client.clientId, '--json'], env()));
      assert.ok(revoked.revokedAt);
      assert.equal(await introspectStatus(server.url, client.clientId, client.clientSecret), 401, 'the revocation reached the running server');

      const migrated = await runServerCommand(['migrate'], env());
      assert.equal(migrated.code, 0, migrated.stderr);
      assert.match(migrated.stdout, /up to date/);

      assert.equal(server.child.exitCode, null, 'the server kept running');
      assert.equal(server.child.pid, pid);
    });

    it("answers a refused command with the service's one-line reason and exit code, through the socket", async () => {
      assert.ok(server && server.child.exitCode === null, 'the server from the test above still runs');
      const taken = await runServerCommand(['vendor', 'create', '--name', 'Live Quant', '--email', 'other@example.com'], env());
      assert.equal(taken.code, 5);
      assert.equal(taken.stderr, 'mp-server: the handle live-quant is taken: pass another one\n');
      const missing = await runServerCommand(['rounds', 'open', '999'], env());
      assert.equal(missing.code, 4);
      assert.match(missing.stderr, /^mp-server: no round 999\n$/);
      const noVendor = await runServerCommand(['vendor', 'create-key', '--handle', 'nobody-here'], env());
      assert.equal(noVendor.code, 4);
      assert.match(noVendor.stderr, /no vendor with the handle nobody-here/);
      const badCsv = await runServerCommand(['rounds', 'create', '--from', path.join(dataDir, 'missing.csv')], env());
      assert.equal(badCsv.code, 5);
      assert.match(badCsv.stderr, /cannot read .*missing\.csv: no such file/);
    });

    it('removes the socket on shutdown, and the commands then open the database directly', async () => {
      const stopped = await server!.stop();
      assert.equal(stopped.code, 0, server!.output());
      assert.equal(existsSync(socketPath()), false, 'the socket is gone');
      assert.equal(existsSync(path.join(dataDir, 'mp-server.pid')), false);

      const vendor = json<{ apiKey: string }>(
        await runServerCommand(['vendor', 'create', '--name', 'Offline Quant', '--email', 'off@example.com', '--json'], env()),
      );
      const rounds = json<unknown[]>(await runServerCommand(['rounds', 'list', '--json'], env()));
      assert.equal(rounds.length, 3);

      server = await startServerProcess(env());
      assert.equal((await postGraphQL(server.graphqlUrl, ME, {}, vendor.apiKey)).data?.me.role, 'VENDOR');
    });

    it("detects a dead server's stale socket, falls back to the database, and a new server replaces the socket", async () => {
      await server!.stop('SIGKILL');
      assert.ok(statSync(socketPath()).isSocket(), 'a killed server leaves its socket behind');

      const rounds = await runServerCommand(['rounds', 'list', '--json'], env());
      assert.equal(json<unknown[]>(rounds).length, 3);
      const admin = json<{ apiKey: string }>(await runServerCommand(['admin', 'create-key', '--name', 'after crash', '--json'], env()));

      server = await startServerProcess(env());
      assert.equal((await postGraphQL(server.graphqlUrl, ME, {}, admin.apiKey)).data?.me.role, 'ADMIN');
      const vendor = json<{ apiKey: string }>(
        await runServerCommand(['vendor', 'create', '--name', 'After Crash', '--email', 'ac@example.com', '--json'], env()),
      );
      assert.equal((await postGraphQL(server.graphqlUrl, ME, {}, vendor.apiKey)).data?.me.role, 'VENDOR', 'the new socket serves');
      await server.stop();
    });

    it('refuses a socket file that is not a socket rather than sending it a command', async () => {
      assert.equal(existsSync(socketPath()), false);
      const { writeFile } = await import('node:fs/promises');
      await writeFile(socketPath(), 'not a socket');
      try {
        const result = await runServerCommand(['rounds', 'list'], env());
        assert.equal(result.code, 1);
        assert.match(result.stderr, /^mp-server: .*mp-server\.sock is not an operator socket of this user's mp-server: remove it/);
        assert.ok(!/\n\s+at /.test(result.stderr), 'no stack trace');
      } finally {
        await rm(socketPath(), { force: true });
      }
    });
  });

  describe('on the embedded database while the server starts', () => {
    let dataDir: string;
    let server: RunningServer | undefined;

    before(async function () {
      if (usingPostgres) return this.skip();
      dataDir = await mkdtemp(path.join(tmpdir(), 'mp-operator-starting-'));
    });

    after(async () => {
      await server?.stop('SIGKILL');
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    it('waits for a server that holds the data directory but is still migrating, then runs in it', async () => {
      const starting = startServerProcess({ MP_DATA_DIR: dataDir });
      starting.catch(() => undefined);
      // The pid file is the lock: from here until the socket listens, the database is the starting server's.
      assert.ok(await eventually(() => existsSync(path.join(dataDir, 'mp-server.pid')), 60_000), 'the server took the lock');
      assert.equal(existsSync(path.join(dataDir, 'mp-server.sock')), false, 'before its socket');
      const created = await runServerCommand(['vendor', 'create', '--name', 'Early Bird', '--email', 'early@example.com', '--json'], { MP_DATA_DIR: dataDir });
      assert.match(created.stderr, /the data directory is busy .*waiting/);
      const { apiKey } = json<{ apiKey: string }>(created);
      server = await starting;
      assert.equal((await postGraphQL(server.graphqlUrl, ME, {}, apiKey)).data?.me.role, 'VENDOR');
    });
  });

  describe('on PostgreSQL', () => {
    let databaseUrl: string;
    let drop: (() => Promise<void>) | undefined;
    let server: RunningServer | undefined;

    before(async function () {
      if (!usingPostgres) return this.skip();
      ({ url: databaseUrl, drop } = await createPostgresDatabase());
      assert.equal((await runServerCommand(['migrate'], { DATABASE_URL: databaseUrl })).code, 0);
    });

    after(async () => {
      await server?.stop('SIGKILL');
      await drop?.();
    });

    it('runs the commands with the server stopped and while it runs', async () => {
      const env = { DATABASE_URL: databaseUrl };
      const before = json<{ apiKey: string }>(await runServerCommand(['vendor', 'create', '--name', 'Pg Before', '--email', 'b@example.com', '--json'], env));
      server = await startServerProcess(env);
      assert.equal((await postGraphQL(server.graphqlUrl, ME, {}, before.apiKey)).data?.me.role, 'VENDOR');

      const during = json<{ apiKey: string }>(await runServerCommand(['vendor', 'create', '--name', 'Pg During', '--email', 'd@example.com', '--json'], env));
      assert.equal((await postGraphQL(server.graphqlUrl, ME, {}, during.apiKey)).data?.me.role, 'VENDOR');
      const admin = json<{ apiKey: string }>(await runServerCommand(['admin', 'create-key', '--json'], env));
      assert.equal((await postGraphQL(server.graphqlUrl, ME, {}, admin.apiKey)).data?.me.role, 'ADMIN');
      const rounds = json<unknown[]>(await runServerCommand(['rounds', 'list', '--json'], env));
      assert.ok(Array.isArray(rounds));
      assert.equal(server.child.exitCode, null);
    });
  });
});
