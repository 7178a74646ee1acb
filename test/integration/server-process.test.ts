import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import { createPostgresDatabase, postGraphQL, usingPostgres } from '../helpers/server';
import { runServerCommand, startServerProcess, type RunningServer } from '../helpers/server-process';
import { migrations } from '../../ormconfig';
import {
  TestCatalogTotalDocument,
  TestCreateApiKeyBriefDocument,
  TestMeIdsDocument as ME,
  TestRevokeApiKeyStatusDocument,
  TestServerTimeSequenceDocument,
  TestSuspendVendorDocument,
} from '../../generated/test-operations';

describe('mp-server as a process', function () {
  this.timeout(60_000);

  it('exits non-zero with one clear line when DATABASE_URL points nowhere', async () => {
    const result = await runServerCommand(['start'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere' });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /mp-server: cannot reach PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/nowhere/);
    assert.ok(!/\n\s+at /.test(result.stderr), 'no stack trace');
  });

  it('exits 2 naming the variable when the configuration is invalid', async () => {
    const result = await runServerCommand(['start'], { PORT: 'eighty' });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /PORT/);
  });

  describe('on the embedded database', () => {
    let dataDir: string;

    before(async () => {
      dataDir = await mkdtemp(path.join(tmpdir(), 'mp-embedded-'));
    });

    after(async () => {
      await rm(dataDir, { recursive: true, force: true });
    });

    it('creates a vendor whose key then works on the server, and stops cleanly on SIGTERM with a WebSocket open', async () => {
      const created = await runServerCommand(['vendor', 'create', '--name', 'Embedded Quant', '--email', 'q@example.com', '--json'], { MP_DATA_DIR: dataDir });
      assert.equal(created.code, 0, created.stderr);
      const { apiKey } = JSON.parse(created.stdout) as { apiKey: string };

      const server = await startServerProcess({ MP_DATA_DIR: dataDir });
      try {
        const me = await postGraphQL(server.graphqlUrl, ME, {}, apiKey);
        assert.equal(me.data?.me.role, 'VENDOR');
        const catalog = await postGraphQL(server.graphqlUrl, TestCatalogTotalDocument);
        assert.ok((catalog.data?.catalog.totalCount ?? 0) > 0, 'the first start seeded demo models');

        // A second server on the same data directory is refused rather than corrupting it.
        const second = await runServerCommand(['start'], { MP_DATA_DIR: dataDir });
        assert.equal(second.code, 1);
        assert.match(second.stderr, /in use by another mp-server process/);

        const closeCode = await new Promise<number>((resolve, reject) => {
          const client = createClient({
            url: server.graphqlUrl.replace(/^http/, 'ws'),
            webSocketImpl: WebSocket,
            retryAttempts: 0,
            on: { closed: (event) => resolve((event as { code: number }).code) },
          });
          client.subscribe(
            { query: TestServerTimeSequenceDocument.toString(), variables: { intervalSeconds: 1 } },
            { next: () => void server.child.kill('SIGTERM'), error: () => undefined, complete: () => undefined },
          );
          setTimeout(() => reject(new Error('no close')), 15_000).unref();
        });
        const stopped = await server.stop();
        assert.equal(closeCode, 1001);
        assert.equal(stopped.code, 0, server.output());
      } finally {
        await server.stop('SIGKILL');
      }
    });
  });

  describe('on PostgreSQL with two server processes', function () {
    let databaseUrl: string;
    let drop: () => Promise<void>;
    let first: RunningServer | undefined;
    let second: RunningServer | undefined;

    before(async function () {
      if (!usingPostgres) return this.skip();
      ({ url: databaseUrl, drop } = await createPostgresDatabase());
    });

    after(async () => {
      await first?.stop('SIGKILL');
      await second?.stop('SIGKILL');
      await drop?.();
    });

    it('refuses to start with pending migrations and says which command fixes it', async () => {
      const result = await runServerCommand(['start'], { DATABASE_URL: databaseUrl });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /pending migration.*run `mp-server migrate`/);
      const migrated = await runServerCommand(['migrate'], { DATABASE_URL: databaseUrl });
      assert.equal(migrated.code, 0, migrated.stderr);
      assert.match(migrated.stdout, new RegExp(`Applied ${migrations.length} migration`));
      const again = await runServerCommand(['migrate'], { DATABASE_URL: databaseUrl });
      assert.match(again.stdout, /up to date/);
    });

    it('stops a revoked key and a suspended vendor on the very next request to the other process', async () => {
      const vendor = await runServerCommand(['vendor', 'create', '--name', 'Two Process Lab', '--email', 'two@example.com', '--json'], {
        DATABASE_URL: databaseUrl,
      });
      assert.equal(vendor.code, 0, vendor.stderr);
      const { apiKey, vendorId } = JSON.parse(vendor.stdout) as { apiKey: string; vendorId: string };
      const admin = await runServerCommand(['admin', 'create-key', '--json'], { DATABASE_URL: databaseUrl });
      const adminKey = (JSON.parse(admin.stdout) as { apiKey: string }).apiKey;

      [first, second] = await Promise.all([startServerProcess({ DATABASE_URL: databaseUrl }), startServerProcess({ DATABASE_URL: databaseUrl })]);

      const created = await postGraphQL(first.graphqlUrl, TestCreateApiKeyBriefDocument, { input: { name: 'to revoke' } }, apiKey);
      const doomed = created.data!.createApiKey;
      // Both processes now hold the key in their validation cache.
      assert.equal((await postGraphQL(first.graphqlUrl, ME, {}, doomed.secret)).status, 200);
      assert.equal((await postGraphQL(second.graphqlUrl, ME, {}, doomed.secret)).status, 200);

      await postGraphQL(first.graphqlUrl, TestRevokeApiKeyStatusDocument, { id: doomed.apiKey.id }, apiKey);
      const onSecond = await postGraphQL(second.graphqlUrl, ME, {}, doomed.secret);
      assert.equal(onSecond.status, 401);
      assert.match(onSecond.errors?.[0].message ?? '', /revoked/);

      assert.equal((await postGraphQL(first.graphqlUrl, ME, {}, apiKey)).status, 200);
      await postGraphQL(second.graphqlUrl, TestSuspendVendorDocument, { id: vendorId }, adminKey);
      const onFirst = await postGraphQL(first.graphqlUrl, ME, {}, apiKey);
      assert.equal(onFirst.status, 401);
      assert.match(onFirst.errors?.[0].message ?? '', /suspended/);
    });
  });
});
