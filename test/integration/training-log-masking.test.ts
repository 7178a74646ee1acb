import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { createClient, type Client } from 'graphql-ws';
import type { ResultOf } from '@graphql-typed-document-node/core';
import { TEST_DATA_DIR, startTestServer, usingPostgres, type TestServer } from '../helpers/server';
import { TokenFormat } from '../../server/tokens';
import {
  TestStartTrainingRunIdDocument,
  TestStoredLogLinesDocument,
  TestTrainingLogLineTextsDocument,
  TestTrainingRunDocument,
} from '../../generated/test-operations';

const TEMPLATE = 'prints-secrets';

/** No 8 consecutive characters of any secret: a longer piece would be a leak. */
function assertNoSecret(text: string, secrets: string[]): void {
  for (const secret of secrets) {
    for (let at = 0; at + 8 <= secret.length; at++) {
      assert.ok(!text.includes(secret.slice(at, at + 8)), `a piece of a secret (${secret.slice(0, 6)}…) survived in:\n${text}`);
    }
  }
}

describe(`secrets printed by a training program (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  this.timeout(60_000);
  let server: TestServer;
  let templates: string;
  const clients: Client[] = [];
  const databasePassword = `pw-${randomBytes(8).toString('hex')}/@!`;
  const databaseUrl = `postgres://mp:${encodeURIComponent(databasePassword)}@db.invalid:5432/mp`;

  before(async () => {
    templates = await mkdtemp(path.join(tmpdir(), 'mp-templates-'));
    // Readable by whoever the local provider runs programs as (mkdtemp makes it private).
    await chmod(templates, 0o755);
    await mkdir(path.join(templates, TEMPLATE), { mode: 0o755 });
    await writeFile(path.join(templates, TEMPLATE, 'package.json'), JSON.stringify({ name: TEMPLATE, main: 'train.js', mp: { hyperparameters: {} } }));
    // The server's configuration holds a database password: masked in what its runs print.
    server = await startTestServer({ MP_TEMPLATES_DIR: templates, DATABASE_URL: databaseUrl });
  });

  after(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await server.close();
    await rm(templates, { recursive: true, force: true });
  });

  it('stores and serves every form of a key, a token and a configured secret masked, in log lines and in the failure reason', async () => {
    const { apiKey } = await server.createVendor();
    const lookup = apiKey.split('_')[1];
    const deploymentToken = new TokenFormat('sit', 'deployment token', 'token').generate().token;
    const mistypedKey = `${apiKey.slice(0, -1)}${apiKey.endsWith('A') ? 'B' : 'A'}`;
    // The signing secret this server generated into its data directory (no MP_SIGNING_SECRET).
    const signingSecret = (await readFile(path.join(TEST_DATA_DIR, 'signing-secret'), 'utf8')).trim();
    const afterLookup = (token: string) => token.slice(token.indexOf('_', token.indexOf('_') + 1) + 1);
    const secrets = [
      afterLookup(apiKey),
      afterLookup(deploymentToken),
      afterLookup(mistypedKey),
      signingSecret,
      databasePassword,
      encodeURIComponent(databasePassword),
    ];

    const stdout = [
      `proxy header Bearer%20${apiKey}`,
      JSON.stringify({ config: `\n${apiKey}` }),
      `1${apiKey}`,
      `X${apiKey}`,
      `apikey_${apiKey}`,
      `${apiKey}_old`,
      `${apiKey}abc`,
      `deployment ${deploymentToken}`,
      `mistyped ${mistypedKey}`,
      `truncated ${apiKey.slice(0, 40)}`,
      `signing secret ${signingSecret}`,
      `database ${databaseUrl} password ${databasePassword}`,
    ];
    const stderr = [`auth Bearer%20${apiKey}`, `X${apiKey}_old`, `signing ${signingSecret}`, `password=${encodeURIComponent(databasePassword)}`];
    const program = [
      `for (const line of ${JSON.stringify(stdout)}) console.log(line);`,
      `for (const line of ${JSON.stringify(stderr)}) console.error(line);`,
      'process.exitCode = 1;',
    ].join('\n');
    await writeFile(path.join(templates, TEMPLATE, 'train.js'), program);

    const started = await server.graphql(TestStartTrainingRunIdDocument, { spec: { task: 'SIGNAL', template: TEMPLATE } }, apiKey);
    assert.equal(started.errors, undefined, JSON.stringify(started.errors));
    const id = started.data!.startTrainingRun.id;

    // Served live over graphql-ws (replayed, then followed to the end).
    const client = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${apiKey}` }, retryAttempts: 0 });
    clients.push(client);
    const followed: string[] = [];
    let finalStatus: string | null = null;
    for await (const result of client.iterate<ResultOf<typeof TestTrainingLogLineTextsDocument>>({
      query: TestTrainingLogLineTextsDocument.toString(),
      variables: { id },
    })) {
      assert.equal(result.errors, undefined, JSON.stringify(result.errors));
      const event = result.data!.trainingLogs;
      followed.push(...event.lines.map((entry) => entry.line));
      finalStatus = event.finalStatus ?? finalStatus;
    }
    assert.equal(finalStatus, 'FAILED');

    const run = (await server.graphql(TestTrainingRunDocument, { id }, apiKey)).data!.trainingRun;
    assert.equal(run.status, 'FAILED');
    const stored = (await server.graphql(TestStoredLogLinesDocument, { id, first: 100 }, apiKey)).data!.trainingLogs.lines.map((entry) => entry.line);
    assert.deepEqual(followed, stored);

    const masked = `vk_${lookup}_[REDACTED]`;
    for (const expected of [
      `1${masked}`,
      `X${masked}`,
      `apikey_${masked}`,
      `${masked}_old`,
      `${masked}abc`,
      `truncated ${masked}`,
      'proxy header Bearer%20[REDACTED]',
    ]) {
      assert.ok(stored.includes(expected), `no line ${expected} in:\n${stored.join('\n')}`);
    }
    assert.ok(stored.includes(`signing secret [REDACTED]`));
    assert.ok(stored.includes(`database postgres://mp:[REDACTED]@db.invalid:5432/mp password [REDACTED]`));
    assertNoSecret(stored.join('\n'), secrets);

    assert.ok(
      run.failureReason?.endsWith(`last stderr: auth Bearer%20[REDACTED] | X${masked}_old | signing [REDACTED] | password=[REDACTED]`),
      run.failureReason ?? 'no failure reason',
    );
    assertNoSecret(run.failureReason ?? '', secrets);
    assertNoSecret(JSON.stringify(run.history), secrets);
  });
});
