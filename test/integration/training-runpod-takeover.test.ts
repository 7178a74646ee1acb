import assert from 'node:assert/strict';
import { startTestServer, usingPostgres } from '../helpers/server';
import { startFakeRunPod, type FakeRunPod, type FakeRunPodOptions } from '../helpers/fake-runpod';
import { freePort } from '../helpers/free-port';
import { createLogger } from '../../server/logger';
import { openStorage } from '../../server/storage';
import { RunPodProvider } from '../../server/providers/runpod';
import type { ComputeProvider, ProviderName } from '../../server/providers/provider';
import { TrainingWorker } from '../../server/modules/training/training-worker';
import { TestStartTrainingRunIdDocument, TestStoredLogLinesDocument, TestTrainingRunProviderStateDocument } from '../../generated/test-operations';

const FINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'BUDGET_EXCEEDED'];

/** A server with RunPod, on the fake; `peerWorker()` is a training worker of another server process on the same database. */
async function runpodServer(fakeOptions: FakeRunPodOptions = {}) {
  const fake = await startFakeRunPod(fakeOptions);
  const port = await freePort();
  const server = await startTestServer({
    PORT: String(port),
    MP_PUBLIC_URL: `http://127.0.0.1:${port}`,
    RUNPOD_API_KEY: fake.apiKey,
    RUNPOD_ENDPOINT_ID: fake.endpointId,
    RUNPOD_JOBS_URL: fake.jobsUrl,
    RUNPOD_API_URL: fake.url,
  });
  const { apiKey, vendorId } = await server.createVendor();
  const peers: TrainingWorker[] = [];
  return {
    fake,
    server,
    apiKey,
    vendorId,
    /** Its reaper looks for lapsed leases every 200 s (leaseSeconds 600): it adopts a run at once only when told one was handed over. */
    async peerWorker(): Promise<TrainingWorker> {
      const storage = await openStorage(server.config);
      const provider = new RunPodProvider({
        apiKey: fake.apiKey,
        endpointId: fake.endpointId,
        jobsBaseUrl: fake.jobsUrl,
        restBaseUrl: fake.url,
        pollIntervalMs: 50,
      });
      const worker = new TrainingWorker(
        server.database.dataSource,
        server.database.notifications,
        new Map<ProviderName, ComputeProvider>([['RUNPOD', provider]]),
        storage.blobs,
        storage.links,
        createLogger('silent'),
        { concurrency: 2, perVendorConcurrency: 2, leaseSeconds: 600, secrets: [], publicBaseUrl: () => server.url, publicUrlSet: true },
      );
      peers.push(worker);
      await worker.start();
      return worker;
    },
    /** Stops every peer worker so far: none of them claims or adopts any more. */
    async stopPeers() {
      for (const worker of peers) await worker.stop();
    },
    async close() {
      for (const worker of peers) await worker.stop();
      await server.close();
      await fake.close();
    },
  };
}

type Setup = Awaited<ReturnType<typeof runpodServer>>;

async function runState(setup: Setup, id: string) {
  return (await setup.server.graphql(TestTrainingRunProviderStateDocument, { id }, setup.apiKey)).data!.trainingRun;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, tries = 600): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const waitFinal = (setup: Setup, id: string) =>
  waitFor(`run ${id} to end`, async () => {
    const run = await runState(setup, id);
    return FINAL.includes(run.status) ? run : undefined;
  });

describe(`RunPod runs when their server process shuts down (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  this.timeout(90_000);
  let setup: Setup;

  before(async () => {
    setup = await runpodServer();
  });

  after(async () => {
    await setup.close();
  });

  it('hands the run over instead of cancelling its job; another process adopts it at once and follows it to the end', async () => {
    const { fake, server, apiKey } = setup;
    const steps = Array.from({ length: 30 }, (_, index) => ({ line: `step ${index + 1}` }));
    fake.script({ queueMs: 0, intervalMs: 100, outputs: steps });
    const started = await server.graphql(TestStartTrainingRunIdDocument, { spec: { task: 'SIGNAL', provider: 'RUNPOD', gpuType: 'A100' } }, apiKey);
    assert.equal(started.errors, undefined, JSON.stringify(started.errors));
    const id = started.data!.startTrainingRun.id;
    await waitFor('the run to print', async () => {
      const lines = (await server.graphql(TestStoredLogLinesDocument, { id, first: 1000 }, apiKey)).data!.trainingLogs.lines;
      return lines.some((entry) => entry.line === 'step 3') ? true : undefined;
    });
    const peer = await setup.peerWorker();

    await server.app.services.trainingWorker!.stop(); // what SIGTERM does (app.close stops the workers)

    const run = await waitFinal(setup, id);
    assert.equal(run.status, 'SUCCEEDED', run.failureReason ?? '');
    assert.ok(!fake.requests.some((request) => request.includes('/cancel/')), 'the job was not cancelled');
    const reasons = run.history.map((change) => change.reason ?? '');
    const handedOver = reasons.findIndex((reason) => /^handed over by .* \(shutting down\)$/.test(reason));
    const adopted = reasons.findIndex((reason) => reason === `adopted by ${peer.workerId}`);
    assert.ok(handedOver > 0 && adopted > handedOver, JSON.stringify(run.history));
    assert.equal(run.history[handedOver].from, 'RUNNING');
    assert.equal(run.history[handedOver].to, 'RUNNING');
    const lines = (await server.graphql(TestStoredLogLinesDocument, { id, first: 1000 }, apiKey)).data!.trainingLogs.lines.map((entry) => entry.line);
    assert.deepEqual(
      lines.filter((line) => /^step \d+$/.test(line)),
      steps.map((step) => step.line),
      'every line once, in order, across the hand-over',
    );
  });

  it('is adopted by this process itself once it starts again', async () => {
    const { fake, server, apiKey } = setup;
    fake.script({ queueMs: 0, intervalMs: 100, outputs: Array.from({ length: 20 }, (_, index) => ({ line: `tick ${index + 1}` })) });
    await setup.stopPeers();
    const worker = await setup.peerWorker(); // the only worker left: it claims the run
    const started = await server.graphql(TestStartTrainingRunIdDocument, { spec: { task: 'SIGNAL', provider: 'RUNPOD', gpuType: 'A100' } }, apiKey);
    const id = started.data!.startTrainingRun.id;
    await waitFor('the run to be RUNNING', async () => ((await runState(setup, id)).status === 'RUNNING' ? true : undefined));

    await worker.stop(); // nobody else could adopt it now
    const restarted = await setup.peerWorker(); // the process started again: it adopts what was handed over as it starts

    const run = await waitFinal(setup, id);
    assert.equal(run.status, 'SUCCEEDED', run.failureReason ?? '');
    assert.ok(
      run.history.some((change) => change.reason === `adopted by ${restarted.workerId}`),
      JSON.stringify(run.history),
    );
    assert.ok(!fake.requests.some((request) => request.includes('/cancel/')));
  });
});

describe(`the cost and budget of a RunPod run another process adopts (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  this.timeout(90_000);

  /** A RUNNING run whose worker died, following `jobId`; its history says it became RUNNING `runningForMs` ago. */
  async function lostRun(setup: Setup, jobId: string, runningForMs: number, maxBudgetUsd: string): Promise<string> {
    const id = `run_lost${Date.now()}`;
    const runningAt = new Date(Date.now() - runningForMs).toISOString();
    const history = [
      { from: null, to: 'QUEUED', at: runningAt, reason: null },
      { from: 'QUEUED', to: 'STARTING', at: runningAt, reason: 'claimed by a dead worker' },
      { from: 'STARTING', to: 'RUNNING', at: runningAt, reason: null },
    ];
    await setup.server.database.dataSource.query(
      `INSERT INTO training_runs (id, vendor_id, task, round_number, template, hyperparameters, gpu_type, provider, timeout_seconds, max_budget_usd,
                                  status, provider_job_id, started_at, spec_hash, worker_id, lease_expires_at, history)
       SELECT $1, $2, 'SIGNAL', number, 'runpod-signal-train', '[]', 'A100', 'RUNPOD', 3600, $3, 'RUNNING', $4, $5, 'x', 'dead-worker',
              now() - interval '1 minute', $6::jsonb
         FROM dataset_rounds WHERE status = 'OPEN' ORDER BY number DESC LIMIT 1`,
      [id, setup.vendorId, maxBudgetUsd, jobId, runningAt, JSON.stringify(history)],
    );
    return id;
  }

  async function submitDirectly(fake: FakeRunPod): Promise<string> {
    const response = await fetch(`${fake.jobsUrl}/${fake.endpointId}/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: { runId: 'before the take-over' }, policy: { executionTimeout: 3_600_000 } }),
    });
    return ((await response.json()) as { id: string }).id;
  }

  it("counts from RunPod's executionTime: a job that ran past its budget before the take-over is stopped at once, its true cost kept", async () => {
    // The job clock runs 60 times faster: one second here is a minute of execution at RunPod.
    const setup = await runpodServer({ speed: 60 });
    try {
      setup.fake.script({ queueMs: 0, end: { status: 'NEVER' } });
      const jobId = await submitDirectly(setup.fake);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      // The run's own record says it has only just started: only RunPod knows better.
      const id = await lostRun(setup, jobId, 0, '0.03');

      await setup.server.app.services.trainingWorker!.reapLostRuns();

      // $0.03 at $2.72/h is 39.7 s of execution; counted from the adoption it would take that long here.
      const run = await waitFinal(setup, id);
      assert.equal(run.status, 'BUDGET_EXCEEDED', run.failureReason ?? '');
      assert.ok(Number(run.costUsd) >= 0.045, `RunPod's minute or more of execution, not capped at $0.03: ${run.costUsd}`);
      assert.match(run.costNote ?? '', /over the \$0\.0300 budget: the job executed [\d.]+ s \(RunPod's executionTime\)/);
      assert.equal(setup.fake.jobs.get(jobId)?.state(), 'CANCELLED');
    } finally {
      await setup.close();
    }
  });

  it('counts from the recorded start when RunPod does not say how long the job has executed', async () => {
    const setup = await runpodServer({ omitExecutionTime: ['IN_QUEUE', 'IN_PROGRESS', 'CANCELLED', 'COMPLETED', 'FAILED', 'TIMED_OUT'] });
    try {
      setup.fake.script({ queueMs: 0, end: { status: 'NEVER' } });
      const jobId = await submitDirectly(setup.fake);
      const id = await lostRun(setup, jobId, 60_000, '0.03');

      await setup.server.app.services.trainingWorker!.reapLostRuns();

      const run = await waitFinal(setup, id);
      assert.equal(run.status, 'BUDGET_EXCEEDED', run.failureReason ?? '');
      assert.ok(Number(run.costUsd) >= 0.045, `a minute at $2.72/h from the recorded start: ${run.costUsd}`);
      assert.match(run.costNote ?? '', /measured here from when it started running/);
    } finally {
      await setup.close();
    }
  });
});
