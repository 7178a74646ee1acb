import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { createClient, type Client } from 'graphql-ws';
import type { ResultOf } from '@graphql-typed-document-node/core';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startPeerServer, startTestServer, usingPostgres, type TestServer } from '../helpers/server';
import {
  TestStartTrainingRunIdDocument,
  TestTrainingLogSeqsDocument,
  TestTrainingLogsDocument as LOGS,
  TestTrainingRunProgressDocument,
  type TestTrainingLogsSubscriptionVariables,
  type TrainingRunStatus,
  type TypedDocumentString,
} from '../../generated/test-operations';

const LINES = 1500;

/**
 * The program prints "ready", waits for a file, then prints LINES lines in bursts: every 100th
 * is 7,500 characters long (a batch with one is too big to travel inside a notification), some
 * carry multi-byte characters, one a bearer token that must arrive masked.
 */
const PROGRAM = `
const fs = require('fs');
const { go_file } = JSON.parse(process.env.MP_HPARAMS);
console.log('ready');
const timer = setInterval(() => {
  if (!fs.existsSync(go_file)) return;
  clearInterval(timer);
  let i = 0;
  const burst = () => {
    for (const end = Math.min(${LINES}, i + 40); i < end; i++) {
      if (i === 7) console.log('auth: Bearer s3cr3t-t0ken');
      else if (i % 100 === 50) console.log('long ' + i + ' ' + 'x'.repeat(7500));
      else if (i % 10 === 3) console.log('line ' + i + ' é✓😀');
      else console.log('line ' + i);
    }
    if (i < ${LINES}) setTimeout(burst, 2);
  };
  burst();
}, 20);
`;

function expectedLine(i: number): string {
  if (i === 7) return 'auth: Bearer [REDACTED]';
  if (i % 100 === 50) return `long ${i} ${'x'.repeat(7500)}`;
  if (i % 10 === 3) return `line ${i} é✓😀`;
  return `line ${i}`;
}

/** What one follower collected: the lines of every event (as its document selects them), then the final status. */
interface Received<TLine = LogLine> {
  lines: TLine[];
  finalStatus: TrainingRunStatus | null;
}

type LogLine = ResultOf<typeof LOGS>['trainingLogs']['lines'][number];

/** A trainingLogs subscription with the variables of LOGS, whatever it selects of each line. */
type LogsDocument<TLine> = TypedDocumentString<{ trainingLogs: Received<TLine> }, TestTrainingLogsSubscriptionVariables>;

describe(`live training logs to many subscribers (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  this.timeout(120_000);
  let server: TestServer;
  let peer: TestServer | undefined;
  let templates: string;
  let vendorKey: string;
  const clients: Client[] = [];

  before(async () => {
    templates = await mkdtemp(path.join(tmpdir(), 'mp-templates-'));
    // Local runs may execute as another user (nobody, when the tests run as root): it reads the template and the go file.
    await chmod(templates, 0o755);
    await mkdir(path.join(templates, 'many-lines'));
    await writeFile(
      path.join(templates, 'many-lines', 'package.json'),
      JSON.stringify({ name: 'many-lines', main: 'train.js', mp: { hyperparameters: { go_file: { type: 'string' } } } }),
    );
    await writeFile(path.join(templates, 'many-lines', 'train.js'), PROGRAM);
    server = await startTestServer({ MP_TEMPLATES_DIR: templates });
    // On PostgreSQL a second server without a worker follows the run through LISTEN/NOTIFY only.
    if (usingPostgres) peer = await startPeerServer(server, { MP_TEMPLATES_DIR: templates, MP_TRAINING_WORKER: 'false' });
    vendorKey = (await server.createVendor()).apiKey;
  });

  after(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await peer?.close();
    await server.close();
    await rm(templates, { recursive: true, force: true });
  });

  const follow = <TLine>(
    target: TestServer,
    id: string,
    after: number,
    document: LogsDocument<TLine>,
    onLines?: (received: Received<TLine>) => void,
  ): Promise<Received<TLine>> => {
    const client = createClient({ url: target.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${vendorKey}` }, retryAttempts: 0 });
    clients.push(client);
    const received: Received<TLine> = { lines: [], finalStatus: null };
    const variables: TestTrainingLogsSubscriptionVariables = { id, after };
    return new Promise((resolve, reject) => {
      client.subscribe<ResultOf<typeof document>>(
        { query: document.toString(), variables },
        {
          next: (message) => {
            if (message.errors) return reject(new Error(JSON.stringify(message.errors)));
            const event = message.data!.trainingLogs;
            received.lines.push(...event.lines);
            if (event.finalStatus) received.finalStatus = event.finalStatus;
            onLines?.(received);
          },
          error: reject,
          complete: () => resolve(received),
        },
      );
    });
  };

  it('gives every subscriber, in this process and another, every line once and in order, masked, then the final status', async () => {
    const goFile = path.join(templates, `go-${Date.now()}`);
    const started = await server.graphql(
      TestStartTrainingRunIdDocument,
      { spec: { task: 'SIGNAL', template: 'many-lines', hyperparameters: [{ name: 'go_file', value: goFile }] } },
      vendorKey,
    );
    assert.equal(started.errors, undefined, JSON.stringify(started.errors));
    const id = started.data!.startTrainingRun.id;

    // The program starts printing once every follower has its first line.
    const ready = new Set<Received>();
    const followers = [server, ...(peer ? [peer] : [])].flatMap((target) => Array.from({ length: 10 }, () => target));
    const onLines = (received: Received) => {
      if (ready.has(received) || !received.lines.some((entry) => entry.line === 'ready')) return;
      ready.add(received);
      if (ready.size === followers.length) void writeFile(goFile, 'go');
    };
    const followed = followers.map((target) => follow(target, id, 0, LOGS, onLines));
    // One more joins midway with afterSeq: replay from the database, then the live lines.
    let late: Promise<Received> | undefined;
    const midway = follow(server, id, 0, LOGS, (received) => {
      if (!late && received.lines.length >= 400) late = follow(peer ?? server, id, 200, LOGS);
    });
    // The same events with another selection: executed for that document, not shared with the others.
    const otherShape = follow(server, id, 0, TestTrainingLogSeqsDocument);

    const results = await Promise.all(followed);
    const reference = await midway;
    const run = (await server.graphql(TestTrainingRunProgressDocument, { id }, vendorKey)).data!.trainingRun;
    assert.equal(run.status, 'SUCCEEDED');

    assert.deepEqual(
      reference.lines.map((entry) => entry.seq),
      Array.from({ length: run.logLineCount }, (_, index) => index + 1),
    );
    const program = reference.lines.filter((entry) => entry.stream === 'stdout').map((entry) => entry.line);
    assert.deepEqual(program, ['ready', ...Array.from({ length: LINES }, (_, i) => expectedLine(i))]);
    assert.equal(reference.finalStatus, 'SUCCEEDED');
    for (const result of results) {
      assert.deepEqual(result.lines, reference.lines);
      assert.equal(result.finalStatus, 'SUCCEEDED');
    }
    assert.ok(late, 'the late subscriber joined');
    const lateResult = await late;
    assert.deepEqual(lateResult.lines, reference.lines.slice(200));
    assert.equal(lateResult.finalStatus, 'SUCCEEDED');
    const shaped = await otherShape;
    assert.deepEqual(
      shaped.lines,
      reference.lines.map((entry) => ({ seq: entry.seq })),
    );
  });
});
