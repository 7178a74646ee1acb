import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startTestServer, usingPostgres, type TestServer } from '../helpers/server';
import { startFakeRunPod, type FakeRunPod } from '../helpers/fake-runpod';
import { freePort } from '../helpers/free-port';
import {
  TestGpuTypesDocument,
  TestStartTrainingRunIdDocument,
  TestStoredLogLinesDocument,
  TestTrainingRunProviderStateDocument,
  type TrainingSpecInput,
} from '../../generated/test-operations';

const FINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'BUDGET_EXCEEDED'];

describe(`training runs on the RunPod provider, through the server (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  this.timeout(60_000);
  let fake: FakeRunPod;
  let server: TestServer;
  let vendorKey: string;

  before(async () => {
    fake = await startFakeRunPod();
    const port = await freePort();
    server = await startTestServer({
      PORT: String(port),
      MP_PUBLIC_URL: `http://127.0.0.1:${port}`,
      RUNPOD_API_KEY: fake.apiKey,
      RUNPOD_ENDPOINT_ID: fake.endpointId,
      RUNPOD_JOBS_URL: fake.jobsUrl,
      RUNPOD_API_URL: fake.url,
    });
    vendorKey = (await server.createVendor()).apiKey;
  });

  after(async () => {
    await server.close();
    await fake.close();
  });

  const startRun = async (spec: TrainingSpecInput) => {
    const response = await server.graphql(TestStartTrainingRunIdDocument, { spec }, vendorKey);
    assert.equal(response.errors, undefined, JSON.stringify(response.errors));
    return response.data!.startTrainingRun.id;
  };
  const waitFinal = async (id: string) => {
    for (let i = 0; i < 300; i++) {
      const response = await server.graphql(TestTrainingRunProviderStateDocument, { id }, vendorKey);
      const run = response.data!.trainingRun;
      if (FINAL.includes(run.status)) return run;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('no final status');
  };
  const logsOf = async (id: string) =>
    (await server.graphql(TestStoredLogLinesDocument, { id, first: 1000 }, vendorKey)).data!.trainingLogs.lines.map((entry) => entry.line);

  it('submits the job with signed round URLs, streams its lines and metrics with the RunPod key masked, and succeeds', async () => {
    fake.script({
      outputs: [
        { line: 'epoch 1 starting' },
        { mp: 'metric', name: 'loss', step: 1, value: 0.5 },
        { line: `leaked ${fake.apiKey} here` },
        // A line cut at 16,384 characters right inside the key: no prefix of it may survive the cut.
        { line: `${'x'.repeat(16_384 - Math.floor(fake.apiKey.length / 2))}${fake.apiKey} tail` },
        { mp: 'metric', name: 'loss', step: 2, value: 0.25 },
      ],
      intervalMs: 20,
    });
    const id = await startRun({ task: 'SIGNAL', provider: 'RUNPOD', gpuType: 'A100', hyperparameters: [{ name: 'epochs', value: 2 }] });
    const run = await waitFinal(id);
    assert.equal(run.status, 'SUCCEEDED', run.failureReason ?? '');
    assert.ok(run.providerJobId && fake.jobs.has(run.providerJobId));
    assert.equal(run.metrics.find((metric) => metric.name === 'loss')?.last, 0.25);
    const lines = await logsOf(id);
    assert.ok(lines.includes('epoch 1 starting'));
    assert.ok(!lines.join('\n').includes(fake.apiKey), 'RUNPOD_API_KEY never stored');
    assert.ok(lines.some((line) => line.includes('leaked [REDACTED] here')));
    const cut = lines.find((line) => line.startsWith('xxxx'));
    assert.ok(cut?.endsWith(' … [line truncated]'), 'the long line is cut');
    assert.ok(!cut?.includes(fake.apiKey.slice(0, Math.floor(fake.apiKey.length / 2))), 'no prefix of the key survives the cut');

    const input = fake.jobs.get(run.providerJobId!)!.input as {
      runId: string;
      files: { name: string; url: string; sha256: string }[];
      artifactUploadUrl: string;
    };
    assert.equal(input.runId, id);
    const train = input.files.find((file) => file.name === 'train.csv')!;
    const download = await fetch(train.url);
    assert.equal(download.status, 200);
    assert.equal(
      createHash('sha256')
        .update(Buffer.from(await download.arrayBuffer()))
        .digest('hex'),
      train.sha256,
    );
    assert.match(input.artifactUploadUrl, /\/uploads\/\d+\/[A-Za-z0-9_-]{43}\/runs\/run_/);
  });

  it("keeps what a COMPLETED job returns: its output's metrics become the run's metrics and the rest a log line", async () => {
    fake.script({ outputs: [{ line: 'training' }], end: { status: 'COMPLETED', output: { metrics: { val_corr: 0.125 }, notes: 'kept' } } });
    const id = await startRun({ task: 'SIGNAL', provider: 'RUNPOD', gpuType: 'A100' });
    const run = await waitFinal(id);
    assert.equal(run.status, 'SUCCEEDED', run.failureReason ?? '');
    assert.equal(run.metrics.find((metric) => metric.name === 'val_corr')?.last, 0.125);
    assert.ok((await logsOf(id)).includes('{"metrics":{"val_corr":0.125},"notes":"kept"}'));
  });

  it('records a job that FAILS at RunPod as FAILED with its error', async () => {
    fake.script({ outputs: [{ line: 'loading' }], end: { status: 'FAILED', error: 'CUDA out of memory' } });
    const run = await waitFinal(await startRun({ task: 'SIGNAL', provider: 'RUNPOD', gpuType: 'A100' }));
    assert.equal(run.status, 'FAILED');
    assert.match(run.failureReason ?? '', /CUDA out of memory/);
  });

  it('records the true cost of a run stopped at its budget: over the budget when RunPod ran longer, with why', async () => {
    fake.script({ outputs: [{ line: 'working' }], end: { status: 'NEVER' } });
    const id = await startRun({ task: 'SIGNAL', provider: 'RUNPOD', gpuType: 'A100', maxBudgetUsd: '0.0001' });
    const run = await waitFinal(id);
    assert.equal(run.status, 'BUDGET_EXCEEDED', run.failureReason ?? '');
    const job = fake.jobs.get(run.providerJobId!)!;
    assert.equal(job.state(), 'CANCELLED');
    assert.ok(Number(run.costUsd) > 0.0001, `not capped at the budget: ${run.costUsd}`);
    assert.equal(run.costStatus, 'MEASURED');
    assert.match(run.costNote ?? '', /^\$0\.\d{4} over the \$0\.0001 budget: the job executed [\d.]+ s \(RunPod's executionTime\) at \$2\.72\/h/);
  });

  it('says the cost is unknown, not $0, when the submission has an unknown outcome and a job may have run', async () => {
    fake.fault({ method: 'POST', path: '/run', status: 500, afterHandling: true });
    fake.script({ outputs: [{ line: 'running unseen' }] });
    const id = await startRun({ task: 'SIGNAL', provider: 'RUNPOD', gpuType: 'A100' });
    const run = await waitFinal(id);
    assert.equal(run.status, 'FAILED');
    assert.equal(run.costStatus, 'UNKNOWN');
    assert.match(run.costNote ?? '', new RegExp(`cost is unknown: a RunPod job with input.runId ${id} may have run`));
  });

  it('accepts artifact uploads to the signed URL while the run is active, and refuses forged or late ones', async () => {
    fake.script({ outputs: Array.from({ length: 40 }, (_, index) => ({ line: `step ${index}` })), intervalMs: 50 });
    const id = await startRun({ task: 'SIGNAL', provider: 'RUNPOD', gpuType: 'A100' });
    let uploadTo = '';
    for (let i = 0; i < 200 && !uploadTo; i++) {
      const job = [...fake.jobs.values()].find((candidate) => (candidate.input as { runId: string }).runId === id);
      uploadTo = (job?.input as { artifactUploadUrl?: string } | undefined)?.artifactUploadUrl ?? '';
      if (!uploadTo) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const body = Buffer.from('{"weights":[1,2,3]}');
    const stored = await fetch(`${uploadTo}/model.json`, { method: 'PUT', body });
    assert.equal(stored.status, 201, await stored.clone().text());
    const answer = (await stored.json()) as { sha256: string; sizeBytes: number };
    assert.equal(answer.sha256, createHash('sha256').update(body).digest('hex'));
    const forged = await fetch(`${uploadTo.replace(id, 'run_someoneelse1')}/model.json`, { method: 'PUT', body });
    assert.equal(forged.status, 403);
    await waitFinal(id);
    const late = await fetch(`${uploadTo}/model.json`, { method: 'PUT', body });
    assert.equal(late.status, 409);
  });

  it('offers the GPU types its endpoint runs, read from RunPod, and refuses the others on spec.gpuType', async () => {
    const offered = await server.graphql(TestGpuTypesDocument, { provider: 'RUNPOD' }, vendorKey);
    assert.deepEqual(
      offered.data?.gpuTypes.map((type) => type.id),
      ['A100', 'A100-SXM4-80GB'],
      "the endpoint's pool (AMPERE_80) decides, not the whole catalog",
    );
    const response = await server.graphql(TestStartTrainingRunIdDocument, { spec: { task: 'SIGNAL', provider: 'RUNPOD', gpuType: 'H100' } }, vendorKey);
    assert.equal(response.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
    assert.match(response.errors?.[0].message ?? '', /no RunPod endpoint of this server runs H100: use one of A100, A100-SXM4-80GB \(RUNPOD_ENDPOINTS/);
  });

  it('lists the GPU types of every provider with whole GB of memory (the Int the schema declares)', async () => {
    const response = await server.graphql(TestGpuTypesDocument, {}, vendorKey);
    assert.equal(response.errors, undefined, JSON.stringify(response.errors));
    const types = response.data!.gpuTypes;
    assert.deepEqual(new Set(types.map((type) => type.provider)), new Set(['LOCAL', 'RUNPOD']));
    for (const type of types) assert.ok(Number.isInteger(type.memoryGb), `${type.id}: ${type.memoryGb}`);
  });
});

describe(`RUNPOD runs on a server without MP_PUBLIC_URL (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  this.timeout(60_000);
  let fake: FakeRunPod;
  let server: TestServer;

  before(async () => {
    fake = await startFakeRunPod();
    server = await startTestServer({
      RUNPOD_API_KEY: fake.apiKey,
      RUNPOD_ENDPOINT_ID: fake.endpointId,
      RUNPOD_JOBS_URL: fake.jobsUrl,
      RUNPOD_API_URL: fake.url,
    });
  });

  after(async () => {
    await server.close();
    await fake.close();
  });

  it('refuses to start them, naming MP_PUBLIC_URL, since its file links would point at an address no RunPod worker reaches', async () => {
    const { apiKey } = await server.createVendor();
    const response = await server.graphql(TestStartTrainingRunIdDocument, { spec: { task: 'SIGNAL', provider: 'RUNPOD', gpuType: 'A100' } }, apiKey);
    assert.equal(response.errors?.[0].extensions?.code, 'PRECONDITION_FAILED');
    assert.match(response.errors?.[0].message ?? '', /MP_PUBLIC_URL/);
    assert.equal(fake.jobs.size, 0);
  });
});
