import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { createClient, type Client } from 'graphql-ws';
import type { ResultOf } from '@graphql-typed-document-node/core';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LogWriter } from '../../server/modules/training/log-writer';
import { startTestServer, usingPostgres, type TestServer } from '../helpers/server';
import { parsePricesCsv } from '../../server/modules/datasets/round-builder';
import { sp500CsvPath } from '../../server/modules/datasets/sample-data';
import {
  TestStartTrainingRunDocument as START,
  TestStartTrainingRunIdDocument,
  TestStopTrainingRunDocument as STOP,
  TestTrainingLogFinalStatusDocument,
  TestTrainingLogLineTextsDocument,
  TestTrainingLogPageDocument,
  TestTrainingLogSeqsAndLinesDocument,
  TestTrainingLogSeqsDocument,
  TestTrainingRunArtifactUrlsDocument,
  TestTrainingRunCountDocument,
  TestTrainingRunDocument as RUN,
  TestGpuTypesDocument,
  type TestTrainingRunFieldsFragment as Run,
  type TrainingSpecInput,
  type TypedDocumentString,
} from '../../generated/test-operations';

const FINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'BUDGET_EXCEEDED'];

describe(`training runs on the local provider (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  this.timeout(120_000);
  let server: TestServer;
  let vendorKey: string;
  let otherKey: string;
  const clients: Client[] = [];

  before(async () => {
    // A price for the local CPU, so a tiny budget is reached at once; $5 budgets last 500 s.
    server = await startTestServer({ MP_LOCAL_CPU_PRICE_USD: '36' });
    vendorKey = (await server.createVendor()).apiKey;
    otherKey = (await server.createVendor()).apiKey;
  });

  after(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await server.close();
  });

  const start = async (spec: TrainingSpecInput, key = vendorKey, idempotencyKey?: string) => server.graphql(START, { spec, key: idempotencyKey }, key);
  const runOf = async (id: string, key = vendorKey) => (await server.graphql(RUN, { id }, key)).data!.trainingRun;
  const waitFinal = async (id: string): Promise<Run> => {
    for (let i = 0; i < 600; i++) {
      const run = await runOf(id);
      if (FINAL.includes(run.status)) return run;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`run ${id} did not finish`);
  };
  const subscribe = <TResult, TVariables extends Record<string, unknown>>(
    document: TypedDocumentString<TResult, TVariables>,
    variables: TVariables,
    key = vendorKey,
  ) => {
    const client = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${key}` }, retryAttempts: 0 });
    clients.push(client);
    return client.iterate<TResult>({ query: document.toString(), variables });
  };

  it('trains the runpod-signal-train template on round 1, streaming logs and metrics, keeping its artifacts', async () => {
    const started = await start({ task: 'SIGNAL', hyperparameters: [{ name: 'epochs', value: 3 }], gpuType: 'CPU' });
    assert.equal(started.errors, undefined, JSON.stringify(started.errors));
    const id = started.data!.startTrainingRun.id;
    assert.ok(['QUEUED', 'STARTING', 'RUNNING'].includes(started.data!.startTrainingRun.status));

    // Follow from the start over graphql-ws: every line once, in order, then the final status.
    const seqs: number[] = [];
    let finalStatus: string | null = null;
    for await (const result of subscribe(TestTrainingLogSeqsAndLinesDocument, { id })) {
      const event = result.data!.trainingLogs;
      seqs.push(...event.lines.map((line) => line.seq));
      if (event.finalStatus) finalStatus = event.finalStatus;
    }
    const run = await runOf(id);
    assert.equal(finalStatus, 'SUCCEEDED', `${run.failureReason}`);
    assert.equal(run.status, 'SUCCEEDED');
    assert.deepEqual(
      seqs,
      Array.from({ length: run.logLineCount }, (_, index) => index + 1),
      'no gap, no duplicate',
    );
    assert.deepEqual(
      run.history.map((change) => change.to),
      ['QUEUED', 'STARTING', 'RUNNING', 'SUCCEEDED'],
    );
    const loss = run.metrics.find((metric) => metric.name === 'loss');
    assert.ok(loss && loss.count === 3, `3 loss points, got ${JSON.stringify(run.metrics)}`);
    assert.ok(run.metrics.some((metric) => metric.name === 'val_corr'));
    assert.ok(run.artifacts.some((artifact) => artifact.name === 'model.json'));

    const urls = await server.graphql(TestTrainingRunArtifactUrlsDocument, { id }, vendorKey);
    const model = urls.data!.trainingRun.artifacts.find((artifact) => artifact.name === 'model.json')!;
    const download = await fetch(model.downloadUrl);
    assert.equal(download.status, 200);
    const parsed = JSON.parse(await download.text()) as Record<string, unknown>;
    assert.ok(parsed.weights || parsed.featureNames, 'model.json holds the model');

    // A subscriber that joins late replays everything after its seq.
    const replayed: number[] = [];
    for await (const result of subscribe(TestTrainingLogSeqsDocument, { id, after: 2 })) {
      const event = result.data!.trainingLogs;
      replayed.push(...event.lines.map((line) => line.seq));
    }
    assert.deepEqual(replayed, seqs.slice(2));

    const page = await server.graphql(TestTrainingLogPageDocument, { id, after: 0, first: 2 }, vendorKey);
    assert.deepEqual(
      page.data!.trainingLogs.lines.map((line) => line.seq),
      [1, 2],
    );
    assert.equal(page.data!.trainingLogs.hasMore, true);

    const stopFinished = await server.graphql(STOP, { id }, vendorKey);
    assert.equal(stopFinished.errors?.[0].extensions?.code, 'PRECONDITION_FAILED');
  });

  it('hides a run from another vendor everywhere: query, stop and subscription', async () => {
    const id = (await start({ task: 'SIGNAL', hyperparameters: [{ name: 'epochs', value: 1 }] })).data!.startTrainingRun.id;
    const seen = await server.graphql(RUN, { id }, otherKey);
    assert.equal(seen.errors?.[0].extensions?.code, 'NOT_FOUND');
    const stopped = await server.graphql(STOP, { id }, otherKey);
    assert.equal(stopped.errors?.[0].extensions?.code, 'NOT_FOUND');
    await assert.rejects(
      (async () => {
        for await (const result of subscribe(TestTrainingLogFinalStatusDocument, { id }, otherKey)) {
          if (result.errors) throw new Error(String(result.errors[0].extensions?.code));
        }
      })(),
      (error: unknown) => /NOT_FOUND/.test(JSON.stringify(error) + String(error)),
    );
    await waitFinal(id);
  });

  it('makes exactly one run for 20 concurrent starts with one idempotency key, and refuses the key for another spec', async () => {
    const spec: TrainingSpecInput = { task: 'SIGNAL', hyperparameters: [{ name: 'epochs', value: 1 }] };
    const responses = await Promise.all(Array.from({ length: 20 }, () => start(spec, vendorKey, 'same-key-1')));
    const ids = new Set(responses.map((response) => response.data?.startTrainingRun.id));
    assert.equal(ids.size, 1, JSON.stringify(responses.find((response) => response.errors)?.errors));
    const other = await start({ ...spec, hyperparameters: [{ name: 'epochs', value: 2 }] }, vendorKey, 'same-key-1');
    assert.equal(other.errors?.[0].extensions?.code, 'CONFLICT');
    await waitFinal([...ids][0]!);
  });

  it('refuses bad specs with BAD_USER_INPUT naming each field, and creates nothing', async () => {
    const before = (await server.graphql(TestTrainingRunCountDocument, {}, vendorKey)).data!.trainingRuns.totalCount;
    const bad = await start({
      task: 'SIGNAL',
      gpuType: 'TPU9000',
      timeoutSeconds: 5,
      maxBudgetUsd: '-1',
      hyperparameters: [
        { name: 'epochs', value: 'many' },
        { name: 'nonsense', value: 1 },
      ],
    });
    assert.equal(bad.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
    const fields = (bad.errors?.[0].extensions?.fields as { field: string }[]).map((problem) => problem.field).sort();
    assert.deepEqual(fields, ['spec.gpuType', 'spec.hyperparameters.epochs', 'spec.hyperparameters.nonsense', 'spec.maxBudgetUsd', 'spec.timeoutSeconds']);
    const unknownRound = await start({ task: 'SIGNAL', round: 999 });
    assert.equal(unknownRound.errors?.[0].extensions?.code, 'NOT_FOUND');
    const unknownTemplate = await start({ task: 'SIGNAL', template: 'no-such-template' });
    assert.equal(unknownTemplate.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
    const [templateProblem] = unknownTemplate.errors?.[0].extensions?.fields as { field: string; message: string }[];
    assert.equal(templateProblem.field, 'spec.template');
    assert.match(templateProblem.message, /use one of .*runpod-signal-train/, 'the training templates are listed');
    assert.doesNotMatch(templateProblem.message, /runpod-signal-http/, 'a serving template is no training program');
    const serving = await start({ task: 'SIGNAL', template: 'runpod-signal-http' });
    assert.match(serving.errors?.[0].message ?? '', /serving template/);
    const runpod = await start({ task: 'SIGNAL', provider: 'RUNPOD', gpuType: 'A100' });
    assert.equal(runpod.errors?.[0].extensions?.code, 'PRECONDITION_FAILED', 'RunPod is not configured in this test server');
    const after = (await server.graphql(TestTrainingRunCountDocument, {}, vendorKey)).data!.trainingRuns.totalCount;
    assert.equal(after, before);
  });

  it('refuses a GPU on LOCAL, which runs on the CPU and bills nothing as if it were a GPU', async () => {
    const response = await start({ task: 'SIGNAL', gpuType: 'A100' });
    assert.deepEqual(response.errors?.[0].extensions?.fields, [
      {
        field: 'spec.gpuType',
        message: "LOCAL runs on this machine's CPU, not on a GPU: use gpuType CPU, or provider RUNPOD for A100 (mp gpus lists what each provider offers)",
      },
    ]);
    const offered = await server.graphql(TestGpuTypesDocument, { provider: 'LOCAL' }, vendorKey);
    assert.deepEqual(
      offered.data?.gpuTypes.map(({ id, pricePerHourUsd }) => ({ id, pricePerHourUsd })),
      [{ id: 'CPU', pricePerHourUsd: '36' }],
    );
  });

  it('refuses a task the template does not train, on spec.task', async () => {
    for (const task of ['CONSENSUS', 'OPTIMIZER'] as const) {
      const response = await start({ task, hyperparameters: [{ name: 'epochs', value: 1 }] });
      assert.equal(response.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
      assert.deepEqual(response.errors?.[0].extensions?.fields, [
        { field: 'spec.task', message: `template runpod-signal-train trains SIGNAL models, not ${task}` },
      ]);
    }
  });

  it('reports each invalid field once, in the fields and not again in the message', async () => {
    const response = await start({
      task: 'SIGNAL',
      timeoutSeconds: 5,
      hyperparameters: [
        { name: 'nonsense', value: 1 },
        { name: 'nonsense', value: 2 },
      ],
    });
    const error = response.errors?.[0];
    const fields = error?.extensions?.fields as { field: string; message: string }[];
    assert.deepEqual(
      fields.map((problem) => problem.field),
      ['spec.hyperparameters.nonsense', 'spec.timeoutSeconds'],
    );
    assert.match(fields[0].message, /unknown to template runpod-signal-train.*; given twice/);
    assert.equal(error?.message, '2 fields of the spec are invalid: spec.hyperparameters.nonsense, spec.timeoutSeconds');
  });

  it('refuses a round that is not OPEN', async () => {
    const round = await server.app.services.datasets.createRound({
      prices: parsePricesCsv(await readFile(sp500CsvPath(), 'utf8')).slice(0, 1000),
      horizonDays: 5,
      by: 'test',
    });
    const response = await start({ task: 'SIGNAL', round: round.number });
    assert.equal(response.errors?.[0].extensions?.code, 'NOT_FOUND', 'UPCOMING rounds are not visible to vendors');
    await server.app.services.datasets.changeStatusAs(round.number, 'OPEN', 'test');
    await server.app.services.datasets.changeStatusAs(round.number, 'CLOSED', 'test');
    const closed = await start({ task: 'SIGNAL', round: round.number });
    assert.equal(closed.errors?.[0].extensions?.code, 'PRECONDITION_FAILED');
    assert.match(closed.errors?.[0].message ?? '', /CLOSED/);
  });

  it('ends a run that reaches its budget as BUDGET_EXCEEDED', async () => {
    const response = await start({
      task: 'SIGNAL',
      maxBudgetUsd: '0.0001',
      hyperparameters: [
        { name: 'epochs', value: 1000 },
        { name: 'batch_size', value: 1 },
      ],
    });
    assert.equal(response.errors, undefined, JSON.stringify(response.errors));
    const run = await waitFinal(response.data!.startTrainingRun.id);
    assert.equal(run.status, 'BUDGET_EXCEEDED', `${run.status}: ${run.failureReason}`);
    assert.ok(Number(run.costUsd) >= 0.0001, `the cost is what it ran: ${run.costUsd}`);
    if (Number(run.costUsd) > 0.0001) assert.match(run.costNote ?? '', /over the \$0\.0001 budget/);
  });

  it('stops a running run on request, ending it CANCELLED', async () => {
    const response = await start({
      task: 'SIGNAL',
      hyperparameters: [
        { name: 'epochs', value: 1000 },
        { name: 'batch_size', value: 1 },
      ],
    });
    const id = response.data!.startTrainingRun.id;
    for (let i = 0; i < 200 && (await runOf(id)).status !== 'RUNNING'; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    const stopped = await server.graphql(STOP, { id }, vendorKey);
    assert.equal(stopped.data?.stopTrainingRun.status, 'CANCELLED', JSON.stringify(stopped));
  });

  it('fails a run whose worker stopped renewing its lease ("worker lost")', async () => {
    const { id } = (await start({ task: 'SIGNAL', hyperparameters: [{ name: 'epochs', value: 1 }] })).data!.startTrainingRun;
    await waitFinal(id);
    // A run another process held and abandoned: RUNNING with a lease that ran out.
    const lostId = `run_lost${Date.now()}`;
    await server.database.dataSource.query(
      `INSERT INTO training_runs (id, vendor_id, task, round_number, template, hyperparameters, gpu_type, provider, timeout_seconds, max_budget_usd, status, spec_hash, worker_id, lease_expires_at, history)
       SELECT $1, vendor_id, task, round_number, template, hyperparameters, gpu_type, provider, timeout_seconds, max_budget_usd, 'RUNNING', 'x', 'dead-worker', now() - interval '1 minute', '[]' FROM training_runs WHERE id = $2`,
      [lostId, id],
    );
    await server.app.services.trainingWorker!.reapLostRuns();
    const lost = await runOf(lostId);
    assert.equal(lost.status, 'FAILED');
    assert.match(lost.failureReason ?? '', /worker lost/);
  });

  it('stores nothing more from a log writer whose process lost the run (its seqs now belong to the new owner)', async () => {
    const { id } = (await start({ task: 'SIGNAL', hyperparameters: [{ name: 'epochs', value: 1 }] })).data!.startTrainingRun;
    await waitFinal(id);
    const linesFrom = async (seq: number) =>
      Number((await server.database.dataSource.query('SELECT count(*) AS n FROM training_log_lines WHERE run_id = $1 AND seq >= $2', [id, seq]))[0].n);
    const errors: unknown[] = [];
    const kept = new LogWriter(server.database.dataSource, id, 100_000, [], (error) => errors.push(error));
    kept.write('stdout', 'stored');
    await kept.flush();
    assert.equal(await linesFrom(100_000), 1, 'a writer that still owns the run stores its line');

    const abandoned = new LogWriter(server.database.dataSource, id, 200_000, [], (error) => errors.push(error));
    abandoned.write('stdout', 'pending when the lease was lost');
    abandoned.abandon();
    abandoned.write('stdout', 'written after');
    await abandoned.flush();
    assert.equal(await linesFrom(200_000), 0);
    assert.deepEqual(errors, []);
  });

  it('commits a log batch asynchronously for that transaction only: the lines are stored and every connection stays synchronous', async () => {
    const { id } = (await start({ task: 'SIGNAL', hyperparameters: [{ name: 'epochs', value: 1 }] })).data!.startTrainingRun;
    await waitFinal(id);
    const errors: unknown[] = [];
    const writer = new LogWriter(server.database.dataSource, id, 300_000, [], (error) => errors.push(error), undefined, true);
    for (let i = 0; i < 10; i++) {
      writer.write('stdout', `async ${i}`);
      await writer.flush();
    }
    const stored = await server.database.dataSource.query('SELECT line FROM training_log_lines WHERE run_id = $1 AND seq >= 300000 ORDER BY seq', [id]);
    assert.deepEqual(
      stored.map((row: { line: string }) => row.line),
      Array.from({ length: 10 }, (_, i) => `async ${i}`),
    );
    const settings = await Promise.all(Array.from({ length: 20 }, () => server.database.dataSource.query('SHOW synchronous_commit')));
    assert.deepEqual(new Set(settings.map((rows: { synchronous_commit: string }[]) => rows[0].synchronous_commit)), new Set(['on']));
    assert.deepEqual(errors, []);
  });
});

describe(`live training logs (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  this.timeout(60_000);
  let server: TestServer;
  let templates: string;
  let vendorKey: string;
  const clients: Client[] = [];

  before(async () => {
    // A template that prints, then waits for a file the test creates: its lines can only reach
    // the subscriber live, while it is still running.
    templates = await mkdtemp(path.join(tmpdir(), 'mp-templates-'));
    // Local runs may execute as another user (nobody, when the tests run as root): it reads the template and the go file.
    await chmod(templates, 0o755);
    await mkdir(path.join(templates, 'wait-for-go'));
    await writeFile(
      path.join(templates, 'wait-for-go', 'package.json'),
      JSON.stringify({ name: 'wait-for-go', main: 'train.js', mp: { hyperparameters: { go_file: { type: 'string' } } } }),
    );
    await writeFile(
      path.join(templates, 'wait-for-go', 'train.js'),
      `const fs = require('fs');
       const { go_file } = JSON.parse(process.env.MP_HPARAMS);
       console.log('started');
       setTimeout(() => console.log('waiting for go'), 300);
       const timer = setInterval(() => { if (fs.existsSync(go_file)) { clearInterval(timer); console.log('done'); } }, 50);`,
    );
    server = await startTestServer({ MP_TEMPLATES_DIR: templates });
    vendorKey = (await server.createVendor()).apiKey;
  });

  after(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await server.close();
    await rm(templates, { recursive: true, force: true });
  });

  it('delivers lines to a subscriber while the program is still running, after the run changed status', async () => {
    const goFile = path.join(templates, `go-${Date.now()}`);
    const started = await server.graphql(
      TestStartTrainingRunIdDocument,
      { spec: { task: 'SIGNAL', template: 'wait-for-go', hyperparameters: [{ name: 'go_file', value: goFile }] } },
      vendorKey,
    );
    assert.equal(started.errors, undefined, JSON.stringify(started.errors));
    const id = started.data!.startTrainingRun.id;
    const client = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${vendorKey}` }, retryAttempts: 0 });
    clients.push(client);
    const lines: string[] = [];
    let finalStatus: string | null = null;
    let sawWaitingWhileRunning = false;
    for await (const result of client.iterate<ResultOf<typeof TestTrainingLogLineTextsDocument>>({
      query: TestTrainingLogLineTextsDocument.toString(),
      variables: { id },
    })) {
      const event = result.data!.trainingLogs;
      lines.push(...event.lines.map((entry) => entry.line));
      if (event.lines.some((entry) => entry.line === 'waiting for go')) {
        // The program cannot finish before this file exists: this line came live.
        sawWaitingWhileRunning = !existsSync(goFile);
        await writeFile(goFile, 'go');
      }
      if (event.finalStatus) finalStatus = event.finalStatus;
    }
    assert.ok(sawWaitingWhileRunning);
    assert.equal(finalStatus, 'SUCCEEDED');
    assert.ok(lines.includes('done'));
  });
});
