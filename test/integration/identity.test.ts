import assert from 'node:assert/strict';
import { startTestServer, usingPostgres, type TestServer } from '../helpers/server';
import {
  TestApiKeysDocument as KEYS,
  TestCreateApiKeyDocument as CREATE_KEY,
  TestCreateVendorDocument,
  TestCreateVendorIdDocument,
  TestMeDocument as ME,
  TestReactivateVendorDocument,
  TestRevokeApiKeyDocument as REVOKE_KEY,
  TestSuspendVendorDocument,
  TestVendorEmailDocument,
} from '../../generated/test-operations';

describe(`identity: vendors and API keys (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });

  after(async () => {
    await server.close();
  });

  it('tells a vendor who it is, without ever returning the key', async () => {
    const vendor = await server.createVendor('Acme Quant Lab');
    const response = await server.graphql(ME, {}, vendor.apiKey);
    assert.equal(response.status, 200);
    assert.equal(response.data?.me.role, 'VENDOR');
    assert.equal(response.data?.me.vendor?.handle, 'acme-quant-lab');
    assert.equal(response.data?.me.vendor?.email, 'vendor@example.com');
    assert.equal(response.data?.me.apiKey.status, 'ACTIVE');
    assert.match(response.data?.me.apiKey.prefix ?? '', /^vk_[0-9A-Za-z]{12}_…$/);
    assert.ok(!JSON.stringify(response).includes(vendor.apiKey));
  });

  it('stores only an argon2id hash of each key', async () => {
    const vendor = await server.createVendor();
    const rows: { secret_hash: string }[] = await server.database.dataSource.query('SELECT secret_hash FROM api_keys');
    assert.ok(rows.length > 0);
    for (const row of rows) {
      assert.match(row.secret_hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      assert.ok(!row.secret_hash.includes(vendor.apiKey));
    }
  });

  it('creates, lists and revokes keys; a revoked key stops working on the next request', async () => {
    const vendor = await server.createVendor();
    const created = await server.graphql(CREATE_KEY, { input: { name: 'ci runner' } }, vendor.apiKey);
    assert.equal(created.errors, undefined);
    const second = created.data!.createApiKey;
    assert.match(second.secret, /^vk_/);

    // Warm the validation cache, then revoke: the cached entry must not outlive the revocation.
    assert.equal((await server.graphql(ME, {}, second.secret)).status, 200);
    const listed = await server.graphql(KEYS, {}, vendor.apiKey);
    assert.equal(listed.data?.apiKeys.totalCount, 2);
    assert.deepEqual(listed.data?.apiKeys.nodes.map((key) => key.name).sort(), ['ci runner', 'first key']);

    const revoked = await server.graphql(REVOKE_KEY, { id: second.apiKey.id }, vendor.apiKey);
    assert.equal(revoked.data?.revokeApiKey.status, 'REVOKED');
    const refused = await server.graphql(ME, {}, second.secret);
    assert.equal(refused.status, 401);
    assert.equal(refused.errors?.[0].extensions?.code, 'UNAUTHENTICATED');
    assert.match(refused.errors?.[0].message ?? '', /revoked/);

    const withRevoked = await server.graphql(KEYS, { all: true }, vendor.apiKey);
    assert.equal(withRevoked.data?.apiKeys.totalCount, 2);
    const activeOnly = await server.graphql(KEYS, {}, vendor.apiKey);
    assert.equal(activeOnly.data?.apiKeys.totalCount, 1);
  });

  it("answers NOT_FOUND when a vendor revokes another vendor's key, and leaves that key working", async () => {
    const alice = await server.createVendor();
    const bob = await server.createVendor();
    const bobKeyId = (await server.graphql(ME, {}, bob.apiKey)).data!.me.apiKey.id;
    const attempt = await server.graphql(REVOKE_KEY, { id: bobKeyId }, alice.apiKey);
    assert.equal(attempt.errors?.[0].extensions?.code, 'NOT_FOUND');
    assert.equal((await server.graphql(ME, {}, bob.apiKey)).status, 200);
    const aliceList = await server.graphql(KEYS, { all: true }, alice.apiKey);
    assert.ok(!aliceList.data?.apiKeys.nodes.some((key) => key.id === bobKeyId));
  });

  it('rejects an expiry in the past with BAD_USER_INPUT naming the field, and creates nothing', async () => {
    const vendor = await server.createVendor();
    const response = await server.graphql(CREATE_KEY, { input: { name: 'old', expiresAt: '2020-01-01T00:00:00Z' } }, vendor.apiKey);
    assert.equal(response.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
    assert.deepEqual(response.errors?.[0].extensions?.fields, [{ field: 'expiresAt', message: 'must be in the future' }]);
    const listed = await server.graphql(KEYS, { all: true }, vendor.apiKey);
    assert.equal(listed.data?.apiKeys.totalCount, 1);
  });

  it('stops accepting a key once it expires', async () => {
    const vendor = await server.createVendor();
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    const created = await server.graphql(CREATE_KEY, { input: { name: 'short-lived', expiresAt } }, vendor.apiKey);
    const secret = created.data!.createApiKey.secret;
    assert.equal((await server.graphql(ME, {}, secret)).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 1700));
    const refused = await server.graphql(ME, {}, secret);
    assert.equal(refused.status, 401);
    assert.match(refused.errors?.[0].message ?? '', /expired/);
  });

  it('rejects a key with a wrong checksum before touching the database', async () => {
    const vendor = await server.createVendor();
    const last = vendor.apiKey.at(-1) === 'A' ? 'B' : 'A';
    const tampered = vendor.apiKey.slice(0, -1) + last;
    const response = await server.graphql(ME, {}, tampered);
    assert.equal(response.status, 401);
    assert.match(response.errors?.[0].message ?? '', /checksum/);
  });

  it("lets only an admin create and suspend vendors; a suspended vendor's keys stop at once", async () => {
    const create = TestCreateVendorDocument;
    const vendor = await server.createVendor();
    const forbidden = await server.graphql(create, { input: { displayName: 'Sneaky', email: 'x@example.com' } }, vendor.apiKey);
    assert.equal(forbidden.errors?.[0].extensions?.code, 'FORBIDDEN');

    const made = await server.graphql(create, { input: { displayName: 'Delta Signals', email: 'ops@delta.example' } }, server.adminKey);
    assert.equal(made.data?.createVendor.vendor.handle, 'delta-signals');
    const newKey = made.data!.createVendor.secret;
    assert.equal((await server.graphql(ME, {}, newKey)).status, 200);

    const taken = await server.graphql(create, { input: { displayName: 'Delta Signals', email: 'other@delta.example' } }, server.adminKey);
    assert.equal(taken.errors?.[0].extensions?.code, 'CONFLICT');

    const suspend = TestSuspendVendorDocument;
    const suspended = await server.graphql(suspend, { id: made.data!.createVendor.vendor.id, reason: 'unpaid' }, server.adminKey);
    assert.equal(suspended.data?.suspendVendor.status, 'SUSPENDED');
    const refused = await server.graphql(ME, {}, newKey);
    assert.equal(refused.status, 401);
    assert.match(refused.errors?.[0].message ?? '', /suspended/);

    const reactivate = TestReactivateVendorDocument;
    await server.graphql(reactivate, { id: made.data!.createVendor.vendor.id }, server.adminKey);
    assert.equal((await server.graphql(ME, {}, newKey)).status, 200);
  });

  it('reports every invalid vendor field at once', async () => {
    const create = TestCreateVendorIdDocument;
    const response = await server.graphql(create, { input: { displayName: 'A', email: 'a@b.co', handle: '-bad-' } }, server.adminKey);
    assert.equal(response.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
    const fields = (response.errors?.[0].extensions?.fields as { field: string }[]).map((problem) => problem.field);
    assert.deepEqual(fields, ['displayName', 'handle']);
  });

  it('says a handle derived from a short name is the problem, and how to fix it', async () => {
    const create = TestCreateVendorIdDocument;
    const response = await server.graphql(create, { input: { displayName: 'DL', email: 'dl@example.com' } }, server.adminKey);
    assert.equal(response.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
    assert.match(response.errors?.[0].message ?? '', /handle: derived from the name as "dl", which is not 3 to 40 .*: pass a handle explicitly/);
  });

  it('validates a key once when many requests present it at the same time', async () => {
    const vendor = await server.createVendor();
    const responses = await Promise.all(Array.from({ length: 20 }, () => server.graphql(ME, {}, vendor.apiKey)));
    assert.ok(responses.every((response) => response.status === 200));
  });

  it("hides a vendor's e-mail from other vendors and from anonymous callers", async () => {
    const alice = await server.createVendor();
    const bob = await server.createVendor();
    const query = TestVendorEmailDocument;
    const own = await server.graphql(query, { id: alice.vendorId }, alice.apiKey);
    assert.equal(own.data?.node?.email, 'vendor@example.com');
    const other = await server.graphql(query, { id: alice.vendorId }, bob.apiKey);
    assert.equal(other.data?.node, null);
  });
});
