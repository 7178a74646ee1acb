import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { postGraphQL } from '../helpers/server';
import { runServerCommand, startServerProcess, type RunningServer } from '../helpers/server-process';
import {
  TestStartTrainingRunIdDocument,
  TestStoredLogSeqsDocument,
  TestTrainingRunOutcomeDocument as RUN,
  type TestTrainingRunOutcomeQuery,
} from '../../generated/test-operations';

/** The embedded database, a real server process, SIGKILL in the middle of a run, and a restart. */
describe('a training run when its server is killed', function () {
  this.timeout(120_000);
  let dataDir: string;
  let server: RunningServer | undefined;

  before(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'mp-restart-'));
  });

  after(async () => {
    await server?.stop('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps every acknowledged log line and ends the run FAILED "worker lost" after the restart', async () => {
    const env = { MP_DATA_DIR: dataDir, MP_TRAINING_LEASE_SECONDS: '3' };
    const created = await runServerCommand(['vendor', 'create', '--name', 'Restart Lab', '--email', 'r@example.com', '--json'], env);
    assert.equal(created.code, 0, created.stderr);
    const { apiKey } = JSON.parse(created.stdout) as { apiKey: string };

    server = await startServerProcess(env);
    const started = await postGraphQL(
      server.graphqlUrl,
      TestStartTrainingRunIdDocument,
      {
        spec: {
          task: 'SIGNAL',
          hyperparameters: [
            { name: 'epochs', value: 1000 },
            { name: 'batch_size', value: 1 },
          ],
        },
      },
      apiKey,
    );
    assert.equal(started.errors, undefined, JSON.stringify(started.errors));
    const id = started.data!.startTrainingRun.id;

    let acknowledged = 0;
    for (let i = 0; i < 200 && acknowledged < 5; i++) {
      const run = await postGraphQL(server.graphqlUrl, RUN, { id }, apiKey);
      acknowledged = run.data!.trainingRun.logLineCount;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(acknowledged >= 5, 'the run printed lines before the kill');
    await server.stop('SIGKILL');

    server = await startServerProcess(env);
    let final: TestTrainingRunOutcomeQuery['trainingRun'] | undefined;
    for (let i = 0; i < 200; i++) {
      final = (await postGraphQL(server.graphqlUrl, RUN, { id }, apiKey)).data!.trainingRun;
      if (final.status === 'FAILED') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(final?.status, 'FAILED');
    assert.match(final?.failureReason ?? '', /worker lost/);
    assert.ok(final!.logLineCount >= acknowledged, `lines kept: ${final!.logLineCount} >= ${acknowledged}`);
    const lines = await postGraphQL(server.graphqlUrl, TestStoredLogSeqsDocument, { id, first: 1000 }, apiKey);
    const seqs = lines.data!.trainingLogs.lines.map((line) => line.seq);
    assert.deepEqual(
      seqs.slice(0, acknowledged),
      Array.from({ length: acknowledged }, (_, index) => index + 1),
    );
  });

  it('refuses a malformed prices file for a new round with the line and reason, and writes no round', async () => {
    const bad = path.join(dataDir, 'bad.csv');
    await writeFile(bad, 'date,open,high,low,close,volume\n2020-01-02,1,2,0.5,1.5,100\n2020-01-01,1,2,0.5,1.5,100\n');
    await server?.stop('SIGTERM');
    server = undefined;
    const result = await runServerCommand(['rounds', 'create', '--from', bad], { MP_DATA_DIR: dataDir });
    assert.equal(result.code, 5, result.stderr);
    assert.match(result.stderr, /line 3/);
    assert.match(result.stderr, /sort/);
    const list = await runServerCommand(['rounds', 'list', '--json'], { MP_DATA_DIR: dataDir });
    assert.deepEqual((JSON.parse(list.stdout) as { number: number }[]).map((round) => round.number).sort(), [1, 2], 'the seeded rounds only');
  });
});
