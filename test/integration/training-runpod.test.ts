import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startTestServer, usingPostgres, type TestServer } from '../helpers/server';
import { startFakeRunPod, type FakeRunPod } from '../helpers/fake-runpod';
import {
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
    server = await startTestServer({
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

  it('records a job that FAILS at RunPod as FAILED with its error', async () => {
    fake.script({ outputs: [{ line: 'loading' }], end: { status: 'FAILED', error: 'CUDA out of memory' } });
    const run = await waitFinal(await startRun({ task: 'SIGNAL', provider: 'RUNPOD', gpuType: 'A100' }));
    assert.equal(run.status, 'FAILED');
    assert.match(run.failureReason ?? '', /CUDA out of memory/);
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
});
