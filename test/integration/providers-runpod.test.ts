import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { RunPodProvider, type RunPodProviderOptions } from '../../server/providers/runpod';
import { FALLBACK_GPU_TYPES, shortGpuId } from '../../server/providers/runpod/catalog';
import type { JobEvents, JobOutcome, TrainingJob } from '../../server/providers/provider';
import { startFakeRunPod, type FakeRunPod, type FakeRunPodOptions } from '../helpers/fake-runpod';

const SHA = 'ab'.repeat(32);

function trainingJob(overrides: Partial<TrainingJob> = {}): TrainingJob {
  return {
    runId: 'run_01HRUNPODTEST',
    task: 'SIGNAL',
    roundNumber: 7,
    files: [
      { name: 'train.csv', kind: 'TRAIN', sha256: SHA, sizeBytes: 1234, url: 'https://mp.example/files/train.csv?sig=abc' },
      { name: 'validation.csv', kind: 'VALIDATION', sha256: SHA, sizeBytes: 567, url: 'https://mp.example/files/validation.csv?sig=def' },
    ],
    hyperparameters: { lr: 0.001, epochs: 3, shuffle: true },
    gpuType: { ...FALLBACK_GPU_TYPES.find((type) => type.id === 'A100')! },
    timeoutSeconds: 3600,
    templateDir: '/nonexistent/template',
    artifactUploadUrl: 'https://mp.example/upload/run_01HRUNPODTEST/?sig=up',
    ...overrides,
  };
}

interface Recording {
  events: JobEvents;
  /** Every call, in order: "submitted <id>", "running", "log <stream> <line>", "metric <name> <step> <value>". */
  trail: string[];
  submittedIds: string[];
  /** The fake's request log at the moment submitted() was called. */
  requestsAtSubmit: string[] | null;
  lines(): string[];
}

function record(fake: FakeRunPod, hooks: { onRunning?: () => void; onLog?: (line: string) => void } = {}): Recording {
  const recording: Recording = {
    trail: [],
    submittedIds: [],
    requestsAtSubmit: null,
    lines: () => recording.trail.filter((entry) => entry.startsWith('log std')).map((entry) => entry.slice(4)),
    events: {
      submitted: async (id) => {
        recording.requestsAtSubmit = [...fake.requests];
        recording.submittedIds.push(id);
        recording.trail.push(`submitted ${id}`);
      },
      running: () => {
        recording.trail.push('running');
        hooks.onRunning?.();
      },
      log: (stream, line) => {
        recording.trail.push(`log ${stream} ${line}`);
        hooks.onLog?.(line);
      },
      metric: (name, step, value) => {
        recording.trail.push(`metric ${name} ${step} ${value}`);
      },
    },
  };
  return recording;
}

describe('RunPod provider against a RunPod-like server', function () {
  let fake: FakeRunPod;
  let logged: string[];

  async function start(options: FakeRunPodOptions = {}): Promise<FakeRunPod> {
    fake = await startFakeRunPod(options);
    return fake;
  }

  function provider(overrides: Partial<RunPodProviderOptions> = {}): RunPodProvider {
    return new RunPodProvider({
      apiKey: fake.apiKey,
      jobsBaseUrl: fake.jobsUrl,
      restBaseUrl: fake.url,
      endpointId: fake.endpointId,
      pollIntervalMs: 20,
      finalStreamSettleMs: 100,
      log: (message) => logged.push(message),
      ...overrides,
    });
  }

  function countRequests(pattern: RegExp): number {
    return fake.requests.filter((request) => pattern.test(request)).length;
  }

  beforeEach(function () {
    logged = [];
  });

  afterEach(async function () {
    await fake?.close();
  });

  it('follows a job that streams logs and metrics to COMPLETED, delivering every line once and in order', async function () {
    await start();
    const outputs = [
      'epoch 1 starting\nloading data\n',
      { line: 'reading train.csv', stream: 'stdout' },
      { line: 'warning: 3 rows skipped', stream: 'stderr' },
      { mp: 'metric', name: 'loss', step: 1, value: 0.5 },
      { line: '{"mp":"metric","name":"val_corr","step":1,"value":0.12}', stream: 'stdout' },
      [{ line: 'batch a' }, { line: 'batch b' }],
      { mp: 'metric', name: 'loss', step: 2, value: 0.41 },
      'done',
      { artifacts: [{ name: 'model.json', sizeBytes: 10, sha256: SHA, blobKey: 'runs/run_01HRUNPODTEST/model.json' }] },
    ];
    fake.script({
      queueMs: 30,
      intervalMs: 15,
      outputs,
      end: {
        status: 'COMPLETED',
        output: { artifacts: [{ name: 'metrics.json', sizeBytes: 42, sha256: SHA, blobKey: 'runs/run_01HRUNPODTEST/metrics.json' }] },
      },
    });
    const recording = record(fake);

    const outcome = await provider().run(trainingJob(), recording.events, new AbortController().signal);

    assert.equal(fake.jobs.size, 1);
    const [job] = [...fake.jobs.values()];
    assert.deepEqual(recording.submittedIds, [job.id]);
    assert.deepEqual(recording.requestsAtSubmit, [`POST /v2/${fake.endpointId}/run`], 'submitted() came before any poll');

    assert.deepEqual(recording.lines(), [
      'stdout epoch 1 starting',
      'stdout loading data',
      'stdout reading train.csv',
      'stderr warning: 3 rows skipped',
      'stdout {"mp":"metric","name":"loss","step":1,"value":0.5}',
      'stdout {"mp":"metric","name":"val_corr","step":1,"value":0.12}',
      'stdout batch a',
      'stdout batch b',
      'stdout {"mp":"metric","name":"loss","step":2,"value":0.41}',
      'stdout done',
    ]);
    assert.deepEqual(
      recording.trail.filter((entry) => entry.startsWith('metric')),
      ['metric loss 1 0.5', 'metric val_corr 1 0.12', 'metric loss 2 0.41'],
    );
    assert.equal(recording.trail.filter((entry) => entry === 'running').length, 1);
    assert.ok(
      recording.trail.indexOf('running') < recording.trail.findIndex((entry) => entry.startsWith('log stdout')),
      'running() came before the first line',
    );
    assert.equal(job.delivered, outputs.length, 'the stream was read to its end');

    assert.deepEqual(outcome, {
      status: 'SUCCEEDED',
      exitCode: 0,
      failureReason: null,
      executionSeconds: ((outputs.length + 1) * 15) / 1000,
      artifacts: [
        { name: 'model.json', sizeBytes: 10, sha256: SHA, blobKey: 'runs/run_01HRUNPODTEST/model.json' },
        { name: 'metrics.json', sizeBytes: 42, sha256: SHA, blobKey: 'runs/run_01HRUNPODTEST/metrics.json' },
      ],
    } satisfies JobOutcome);
  });

  it('submits the run, its signed URLs, the GPU and the timeout in the job input and policy', async function () {
    await start();
    const job = trainingJob({ image: 'ghcr.io/vendor/train:1' });
    await provider().run(job, record(fake).events, new AbortController().signal);

    const [submitted] = [...fake.jobs.values()];
    assert.deepEqual(submitted.input, {
      runId: job.runId,
      task: 'SIGNAL',
      round: 7,
      files: job.files,
      hyperparameters: { lr: 0.001, epochs: 3, shuffle: true },
      gpuType: 'NVIDIA A100 80GB PCIe',
      artifactUploadUrl: job.artifactUploadUrl,
      image: 'ghcr.io/vendor/train:1',
    });
    assert.equal(submitted.policy.executionTimeout, 3_600_000);
    assert.equal(submitted.policy.ttl, 3_600_000 + 3_600_000);
  });

  it('honours Retry-After on a 429 from /status and still completes', async function () {
    await start();
    fake.script({ queueMs: 0, intervalMs: 10, outputs: ['only line'] });
    fake.fault({ method: 'GET', path: '/status/', status: 429, retryAfter: 1 });
    const recording = record(fake);

    const outcome = await provider().run(trainingJob(), recording.events, new AbortController().signal);

    assert.equal(outcome.status, 'SUCCEEDED');
    assert.deepEqual(recording.lines(), ['stdout only line']);
    const statusCalls = fake.calls.filter((call) => call.path.includes('/status/'));
    assert.deepEqual(
      statusCalls.map((call) => call.status),
      [429, 200],
    );
    const waited = statusCalls[1].at - statusCalls[0].at;
    assert.ok(waited >= 990, `the retry came ${waited} ms after the 429, not after Retry-After (1 s)`);
    assert.ok(
      logged.some((message) => /429.*Retry-After 1/.test(message)),
      logged.join('\n'),
    );
  });

  it('retries a /stream answering 500 or dropping the connection, and loses no line', async function () {
    await start();
    const lines = ['line 1', 'line 2', 'line 3', 'line 4', 'line 5'];
    fake.script({ queueMs: 0, intervalMs: 15, outputs: lines });
    fake.fault({ method: 'GET', path: '/stream/', status: 500, times: 2 });
    fake.fault({ method: 'GET', path: '/stream/', status: 'drop' });
    const recording = record(fake);

    const outcome = await provider().run(trainingJob(), recording.events, new AbortController().signal);

    assert.equal(outcome.status, 'SUCCEEDED');
    assert.deepEqual(
      recording.lines(),
      lines.map((line) => `stdout ${line}`),
    );
    const streamStatuses = fake.calls.filter((call) => call.path.includes('/stream/')).map((call) => call.status);
    assert.deepEqual(streamStatuses.slice(0, 4), [500, 500, 'dropped', 200]);
    assert.ok(
      logged.some((message) => /HTTP 500; retrying/.test(message)),
      logged.join('\n'),
    );
  });

  it("keeps a COMPLETED job's final output: its metrics become metrics, the rest a log line, its artifacts artifacts", async function () {
    await start();
    const artifact = { name: 'model.json', sizeBytes: 10, sha256: SHA, blobKey: 'runs/run_01HRUNPODTEST/model.json' };
    fake.script({
      queueMs: 0,
      intervalMs: 10,
      outputs: [{ mp: 'metric', name: 'loss', step: 3, value: 0.2 }],
      end: { status: 'COMPLETED', output: { metrics: { val_corr: 0.08, sharpe: 1.5 }, notes: 'ridge beat the baseline', artifacts: [artifact] } },
    });
    const recording = record(fake);

    const outcome = await provider().run(trainingJob(), recording.events, new AbortController().signal);

    assert.equal(outcome.status, 'SUCCEEDED');
    assert.deepEqual(
      recording.trail.filter((entry) => entry.startsWith('metric')),
      ['metric loss 3 0.2', 'metric val_corr 3 0.08', 'metric sharpe 3 1.5'],
      'final metrics come at the last step seen',
    );
    assert.ok(recording.lines().includes('stdout {"metrics":{"val_corr":0.08,"sharpe":1.5},"notes":"ridge beat the baseline"}'), recording.lines().join('\n'));
    assert.deepEqual(outcome.artifacts, [artifact]);
  });

  it('takes plain-string /stream entries as outputs, as RunPod has been seen to send them', async function () {
    await start({ plainStreamItems: true });
    fake.script({
      queueMs: 0,
      intervalMs: 10,
      outputs: ['plain line\nsecond line', { line: 'an object' }, { mp: 'metric', name: 'loss', step: 1, value: 0.5 }],
    });
    const recording = record(fake);

    const outcome = await provider().run(trainingJob(), recording.events, new AbortController().signal);

    assert.equal(outcome.status, 'SUCCEEDED');
    assert.deepEqual(recording.lines(), [
      'stdout plain line',
      'stdout second line',
      'stdout an object',
      'stdout {"mp":"metric","name":"loss","step":1,"value":0.5}',
    ]);
    assert.ok(recording.trail.includes('metric loss 1 0.5'));
  });

  it('keeps the outputs that reach /stream just after the final status', async function () {
    await start();
    const artifact = { name: 'late.json', sizeBytes: 3, sha256: SHA, blobKey: 'runs/run_01HRUNPODTEST/late.json' };
    fake.script({ queueMs: 0, intervalMs: 10, outputs: ['on time'], lateOutputs: ['late line', { artifacts: [artifact] }], lateMs: 50 });
    const recording = record(fake);

    const outcome = await provider().run(trainingJob(), recording.events, new AbortController().signal);

    assert.equal(outcome.status, 'SUCCEEDED');
    assert.deepEqual(recording.lines(), ['stdout on time', 'stdout late line']);
    assert.deepEqual(outcome.artifacts, [artifact]);
  });

  it('takes the entries of an aggregated final output that /stream never delivered, and repeats none', async function () {
    await start();
    const outputs = ['line 1', { line: 'line 2' }];
    fake.script({ queueMs: 0, intervalMs: 10, outputs, end: { status: 'COMPLETED', output: [...outputs, 'line 3 (only in the output)'] } });
    const recording = record(fake);

    const outcome = await provider().run(trainingJob(), recording.events, new AbortController().signal);

    assert.equal(outcome.status, 'SUCCEEDED');
    assert.deepEqual(recording.lines(), ['stdout line 1', 'stdout line 2', 'stdout line 3 (only in the output)']);
  });

  it('retries a /status answering 500 or 503, which only reads, and completes', async function () {
    await start();
    fake.script({ queueMs: 0, intervalMs: 10, outputs: ['only line'] });
    fake.fault({ method: 'GET', path: '/status/', status: 500 });
    fake.fault({ method: 'GET', path: '/status/', status: 503 });

    const outcome = await provider().run(trainingJob(), record(fake).events, new AbortController().signal);

    assert.equal(outcome.status, 'SUCCEEDED');
    assert.deepEqual(
      fake.calls.filter((call) => call.path.includes('/status/')).map((call) => call.status),
      [500, 503, 200],
    );
  });

  it('retries a /cancel answering 500 and 429 until RunPod confirms it: cancelling twice is harmless', async function () {
    await start();
    fake.script({ queueMs: 0, intervalMs: 10, outputs: ['working'], end: { status: 'NEVER' } });
    fake.fault({ method: 'POST', path: '/cancel/', status: 500 });
    fake.fault({ method: 'POST', path: '/cancel/', status: 429, retryAfter: 0 });
    const controller = new AbortController();
    const recording = record(fake, { onLog: (line) => line === 'working' && controller.abort('CANCELLED') });

    const outcome = await provider().run(trainingJob(), recording.events, controller.signal);

    const [job] = [...fake.jobs.values()];
    assert.equal(outcome.status, 'ABORTED');
    assert.equal(outcome.failureReason, null, 'the cancellation was confirmed');
    assert.equal(job.state(), 'CANCELLED');
    assert.deepEqual(
      fake.calls.filter((call) => call.path.includes('/cancel/')).map((call) => call.status),
      [500, 429, 200],
    );
  });

  it("reports a job that FAILS as FAILED with RunPod's error text", async function () {
    await start();
    fake.script({
      queueMs: 0,
      intervalMs: 10,
      outputs: ['epoch 1'],
      end: { status: 'FAILED', error: 'training program exited with code 3: CUDA out of memory' },
    });
    const recording = record(fake);

    const outcome = await provider().run(trainingJob(), recording.events, new AbortController().signal);

    assert.equal(outcome.status, 'FAILED');
    assert.equal(outcome.failureReason, 'training program exited with code 3: CUDA out of memory');
    assert.equal(outcome.exitCode, null);
    assert.deepEqual(outcome.artifacts, []);
    assert.deepEqual(recording.lines(), ['stdout epoch 1']);
    assert.ok((outcome.executionSeconds ?? 0) > 0, 'RunPod reported its executionTime');
  });

  it('reads the error a throwing RunPod handler leaves as a JSON string', async function () {
    await start();
    const error = JSON.stringify({ error_type: "<class 'ValueError'>", error_message: 'train.csv has no target column', error_traceback: 'Traceback ...' });
    fake.script({ queueMs: 0, end: { status: 'FAILED', error } });

    const outcome = await provider().run(trainingJob(), record(fake).events, new AbortController().signal);

    assert.equal(outcome.status, 'FAILED');
    assert.equal(outcome.failureReason, "<class 'ValueError'>: train.csv has no target column");
  });

  it('reports a job that outlives its executionTimeout as TIMED_OUT, with the timeout clamped to 5 s', async function () {
    await start({ speed: 1000 }); // the job clock runs 1000 times faster: 5 s take 5 ms
    fake.script({ queueMs: 0, intervalMs: 1000, outputs: ['step 1', 'step 2'], end: { status: 'NEVER' } });
    const recording = record(fake);

    const outcome = await provider().run(trainingJob({ timeoutSeconds: 1 }), recording.events, new AbortController().signal);

    const [job] = [...fake.jobs.values()];
    assert.equal(job.policy.executionTimeout, 5000);
    assert.equal(outcome.status, 'TIMED_OUT');
    assert.equal(outcome.executionSeconds, 5);
    assert.match(outcome.failureReason ?? '', /execution timeout/);
    assert.deepEqual(recording.lines(), ['stdout step 1', 'stdout step 2']);
    assert.ok(recording.trail.includes('running'));
  });

  it('keeps reading /stream after the job ended until the stream is empty', async function () {
    await start({ speed: 1000, streamBatch: 2 }); // the job ends before the first poll; two outputs per answer
    const lines = Array.from({ length: 7 }, (_, index) => `line ${index + 1}`);
    fake.script({ queueMs: 0, intervalMs: 1, outputs: lines });
    const recording = record(fake);

    const outcome = await provider().run(trainingJob(), recording.events, new AbortController().signal);

    assert.equal(outcome.status, 'SUCCEEDED');
    assert.deepEqual(
      recording.lines(),
      lines.map((line) => `stdout ${line}`),
    );
    // Four answers carry the outputs and one more comes back empty; on a loaded machine the first
    // poll can come before the job ended, which adds polls but never loses or repeats a line.
    assert.ok(countRequests(/^GET .*\/stream\//) >= 5, 'four answers with outputs, then the empty one');
  });

  it('cancels the RunPod job and resolves ABORTED when the signal aborts', async function () {
    await start();
    fake.script({ queueMs: 0, intervalMs: 10, outputs: ['working', 'still working'], end: { status: 'NEVER' } });
    const controller = new AbortController();
    const recording = record(fake, { onLog: (line) => line === 'still working' && controller.abort('CANCELLED') });

    const outcome = await provider().run(trainingJob(), recording.events, controller.signal);

    const [job] = [...fake.jobs.values()];
    assert.equal(outcome.status, 'ABORTED');
    assert.equal(outcome.failureReason, null);
    assert.ok(fake.requests.includes(`POST /v2/${fake.endpointId}/cancel/${job.id}`), fake.requests.join('\n'));
    assert.equal(job.state(), 'CANCELLED');
    assert.ok((outcome.executionSeconds ?? 0) > 0, 'RunPod reported its executionTime');
    assert.deepEqual(recording.lines(), ['stdout working', 'stdout still working']);
  });

  it('leaves the execution time to the worker when a CANCELLED answer has no executionTime', async function () {
    await start({ omitExecutionTime: ['CANCELLED'] });
    fake.script({ queueMs: 0, intervalMs: 10, outputs: ['working'], end: { status: 'NEVER' } });
    const controller = new AbortController();
    const recording = record(fake, { onLog: (line) => line === 'working' && controller.abort('CANCELLED') });

    const outcome = await provider().run(trainingJob(), recording.events, controller.signal);

    assert.equal(outcome.status, 'ABORTED');
    assert.equal(outcome.executionSeconds, null, 'not a guess of its own, and never 0');
    assert.equal(outcome.costUnknown, undefined);
  });

  it('says the cost is unknown when RunPod never confirms the cancellation', async function () {
    await start();
    fake.script({ queueMs: 0, intervalMs: 10, outputs: ['working'], end: { status: 'NEVER' } });
    fake.fault({ method: 'POST', path: '/cancel/', status: 500, times: 20 });
    const controller = new AbortController();
    const recording = record(fake, { onLog: (line) => line === 'working' && controller.abort('CANCELLED') });

    const outcome = await provider({ maxRetries: 1 }).run(trainingJob(), recording.events, controller.signal);

    assert.equal(outcome.status, 'ABORTED');
    assert.match(outcome.failureReason ?? '', /did not confirm the cancellation/);
    assert.match(outcome.costUnknown ?? '', /cost is unknown.*may still be running/);
  });

  for (const reason of ['HANDOVER', 'LEASE_LOST'] as const) {
    it(`lets the job go on without cancelling it when the run is aborted with ${reason} (another process follows it)`, async function () {
      await start();
      fake.script({ queueMs: 0, intervalMs: 10, outputs: ['working'], end: { status: 'NEVER' } });
      const controller = new AbortController();
      const recording = record(fake, { onLog: (line) => line === 'working' && controller.abort(reason) });

      const outcome = await provider().run(trainingJob(), recording.events, controller.signal);

      const [job] = [...fake.jobs.values()];
      assert.equal(outcome.status, 'ABORTED');
      assert.equal(job.state(), 'IN_PROGRESS');
      assert.ok(!fake.requests.some((request) => request.includes('/cancel/')), fake.requests.join('\n'));
    });
  }

  it('reads how long a job followed again has executed, so its cost counts from its own start', async function () {
    await start({ speed: 60 });
    fake.script({ queueMs: 0, intervalMs: 60_000, outputs: ['a minute in'] });
    const response = await fetch(`${fake.jobsUrl}/${fake.endpointId}/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: { runId: 'run_before_restart' }, policy: { executionTimeout: 3_600_000 } }),
    });
    const { id } = (await response.json()) as { id: string };
    await new Promise((resolve) => setTimeout(resolve, 500));
    const executed: number[] = [];
    const recording = record(fake);

    const outcome = await provider().resume(
      trainingJob(),
      id,
      { ...recording.events, executed: (seconds) => executed.push(seconds) },
      new AbortController().signal,
    );

    assert.equal(outcome.status, 'SUCCEEDED');
    assert.equal(executed.length, 1);
    assert.ok(executed[0] >= 25, `about 30 s of RunPod execution before it was followed again, got ${executed[0]}`);
    assert.ok(recording.trail.indexOf('running') < recording.trail.findIndex((entry) => entry.startsWith('log stdout')));
  });

  it('submits nothing when the signal aborts while a 429 on /run is waited out', async function () {
    await start();
    fake.fault({ method: 'POST', path: '/run', status: 429, retryAfter: 30 });
    const controller = new AbortController();
    const recording = record(fake);
    setTimeout(() => controller.abort('SHUTDOWN'), 50);

    const outcome = await provider().run(trainingJob(), recording.events, controller.signal);

    assert.equal(outcome.status, 'ABORTED');
    assert.equal(fake.jobs.size, 0);
    assert.deepEqual(recording.submittedIds, []);
  });

  it('retries a submission refused with 429 and creates exactly one job', async function () {
    await start();
    fake.fault({ method: 'POST', path: '/run', status: 429, retryAfter: 0, times: 2 });
    const recording = record(fake);

    const outcome = await provider().run(trainingJob(), recording.events, new AbortController().signal);

    assert.equal(outcome.status, 'SUCCEEDED');
    assert.equal(countRequests(/^POST .*\/run$/), 3);
    assert.equal(fake.jobs.size, 1);
    assert.deepEqual(recording.submittedIds, [...fake.jobs.keys()]);
  });

  it('does not resubmit when /run answers 500, since the job may already exist, and says so', async function () {
    await start();
    fake.fault({ method: 'POST', path: '/run', status: 500, afterHandling: true });
    const recording = record(fake);

    const outcome = await provider().run(trainingJob(), recording.events, new AbortController().signal);

    assert.equal(outcome.status, 'FAILED');
    assert.match(outcome.failureReason ?? '', /HTTP 500.*may or may not exist.*run_01HRUNPODTEST/);
    assert.match(outcome.costUnknown ?? '', /cost is unknown.*run_01HRUNPODTEST/, 'the job it may have made is not taken to cost nothing');
    assert.equal(countRequests(/^POST .*\/run$/), 1);
    assert.equal(fake.jobs.size, 1, 'the one job RunPod made is the only one');
    assert.deepEqual(recording.submittedIds, []);
  });

  it('does not resubmit when the connection drops after /run was sent', async function () {
    await start();
    fake.fault({ method: 'POST', path: '/run', status: 'drop', afterHandling: true });

    const outcome = await provider().run(trainingJob(), record(fake).events, new AbortController().signal);

    assert.equal(outcome.status, 'FAILED');
    assert.match(outcome.failureReason ?? '', /no complete answer after the request was sent.*may or may not exist/);
    assert.match(outcome.costUnknown ?? '', /cost is unknown/);
    assert.equal(countRequests(/^POST .*\/run$/), 1);
    assert.equal(fake.jobs.size, 1);
  });

  it('retries a submission whose connection is refused, then fails saying nothing was submitted', async function () {
    await start();
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });

    const outcome = await provider({ jobsBaseUrl: `http://127.0.0.1:${closedPort}/v2`, maxRetries: 2 }).run(
      trainingJob(),
      record(fake).events,
      new AbortController().signal,
    );

    assert.equal(outcome.status, 'FAILED');
    assert.match(outcome.failureReason ?? '', /could not be reached.*ECONNREFUSED.*3 attempts.*nothing was submitted/);
    assert.equal(outcome.costUnknown, undefined, 'nothing was submitted, so nothing can have cost');
    assert.equal(logged.filter((message) => /POST \/run: .*ECONNREFUSED.*retrying/.test(message)).length, 2, logged.join('\n'));
  });

  it('fails with the problem detail when RunPod rejects the submission with 422, without retrying', async function () {
    await start();
    fake.fault({ method: 'POST', path: '/run', status: 422, detail: 'input.files[0].url must be https' });

    const outcome = await provider().run(trainingJob(), record(fake).events, new AbortController().signal);

    assert.equal(outcome.status, 'FAILED');
    assert.match(outcome.failureReason ?? '', /rejected the job \(HTTP 422\): input\.files\[0\]\.url must be https/);
    assert.equal(countRequests(/^POST .*\/run$/), 1);
  });

  it('fails with a clear reason that does not contain the key when RunPod refuses the API key', async function () {
    await start({ echoKeyInErrors: true });
    const wrongKey = 'rpa_WRONGKEY0123456789ABCDEF';
    const recording = record(fake);

    const outcome = await provider({ apiKey: wrongKey }).run(trainingJob(), recording.events, new AbortController().signal);

    assert.equal(outcome.status, 'FAILED');
    assert.match(outcome.failureReason ?? '', /^RunPod refused the API key \(HTTP 401/);
    assert.ok(!(outcome.failureReason ?? '').includes(wrongKey), outcome.failureReason ?? '');
    assert.deepEqual(
      fake.calls.map((call) => call.status),
      [401],
      'a refused key is not retried',
    );
    assert.equal(fake.jobs.size, 0);
    assert.deepEqual(recording.submittedIds, []);
    for (const text of [...logged, ...recording.trail]) assert.ok(!text.includes(wrongKey), text);
  });

  it('refuses an input over 10 MB before sending anything', async function () {
    await start();
    const outcome = await provider().run(
      trainingJob({ hyperparameters: { notes: 'x'.repeat(10_500_000) } }),
      record(fake).events,
      new AbortController().signal,
    );

    assert.equal(outcome.status, 'FAILED');
    assert.match(outcome.failureReason ?? '', /at most 10 MB/);
    assert.deepEqual(fake.requests, []);
  });

  it('resumes following a job submitted before a restart, without submitting again', async function () {
    await start();
    fake.script({ queueMs: 20, intervalMs: 10, outputs: ['after restart 1', 'after restart 2'] });
    const response = await fetch(`${fake.jobsUrl}/${fake.endpointId}/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: { runId: 'run_before_restart' } }),
    });
    const { id } = (await response.json()) as { id: string };
    const recording = record(fake);

    const outcome = await provider().resume(trainingJob(), id, recording.events, new AbortController().signal);

    assert.equal(outcome.status, 'SUCCEEDED');
    assert.deepEqual(recording.lines(), ['stdout after restart 1', 'stdout after restart 2']);
    assert.equal(countRequests(/^POST .*\/run$/), 1, 'only the original submission');
    assert.deepEqual(recording.submittedIds, []);
  });

  it('fails a resumed job that RunPod no longer knows', async function () {
    await start();
    const outcome = await provider().resume(trainingJob(), 'gone-job-u1', record(fake).events, new AbortController().signal);

    assert.equal(outcome.status, 'FAILED');
    assert.match(outcome.failureReason ?? '', /no longer knows job gone-job-u1/);
  });

  it('offers the GPUs RUNPOD_ENDPOINTS maps, with short ids and catalog prices as decimal strings, cached', async function () {
    await start();
    const ids = ['RTXA6000', 'RTX4090', 'A100', 'A100-SXM4-80GB', 'H100'];
    const runpod = provider({ endpointId: undefined, endpoints: ids.map((gpuType) => ({ gpuType, endpointId: fake.endpointId })) });

    const types = await runpod.gpuTypes();

    assert.deepEqual(
      types.map(({ id, providerGpuId, pricePerHourUsd, memoryGb }) => ({ id, providerGpuId, pricePerHourUsd, memoryGb })),
      [
        { id: 'RTXA6000', providerGpuId: 'NVIDIA RTX A6000', pricePerHourUsd: '0.85', memoryGb: 48 },
        { id: 'RTX4090', providerGpuId: 'NVIDIA GeForce RTX 4090', pricePerHourUsd: '1.10', memoryGb: 24 },
        { id: 'A100', providerGpuId: 'NVIDIA A100 80GB PCIe', pricePerHourUsd: '2.72', memoryGb: 80 },
        { id: 'A100-SXM4-80GB', providerGpuId: 'NVIDIA A100-SXM4-80GB', pricePerHourUsd: '2.72', memoryGb: 80 },
        { id: 'H100', providerGpuId: 'NVIDIA H100 80GB HBM3', pricePerHourUsd: '4.18', memoryGb: 80 },
      ],
    );
    assert.ok(types.every((type) => type.provider === 'RUNPOD'));
    assert.equal(types.find((type) => type.id === 'A100')?.displayName, 'A100 PCIe');

    await runpod.gpuTypes();
    assert.equal(countRequests(/^GET \/v2\/catalog\/gpus$/), 1, 'the second call is served from the cache');
  });

  it('offers only the GPUs with an endpoint, and runs a job on the endpoint of its GPU', async function () {
    await start({ endpointIds: ['ep-h100'] });
    const runpod = provider({
      endpointId: undefined,
      endpoints: [
        { gpuType: 'A100', endpointId: fake.endpointId },
        { gpuType: 'H100', endpointId: 'ep-h100' },
        { gpuType: 'TPU9', endpointId: 'ep-tpu' },
      ],
    });

    const types = await runpod.gpuTypes();
    assert.deepEqual(
      types.map((type) => type.id),
      ['A100', 'H100'],
    );
    assert.ok(
      logged.some((message) => /RUNPOD_ENDPOINTS maps TPU9, which the serverless GPU catalog does not list/.test(message)),
      logged.join('\n'),
    );
    fake.script({ queueMs: 0, intervalMs: 10, outputs: ['on an H100'] });
    const outcome = await runpod.run(trainingJob({ gpuType: types.find((type) => type.id === 'H100')! }), record(fake).events, new AbortController().signal);

    assert.equal(outcome.status, 'SUCCEEDED', outcome.failureReason ?? '');
    const [job] = [...fake.jobs.values()];
    assert.equal(job.endpointId, 'ep-h100');
    assert.equal((job.input as { gpuType: string }).gpuType, 'NVIDIA H100 80GB HBM3');
  });

  it("reads the GPU types of RUNPOD_ENDPOINT_ID's endpoint from RunPod, each priced at the highest of them", async function () {
    await start({ endpointGpus: { 'fake-endpoint-1': { pools: ['ADA_24', 'AMPERE_80'], excludedTypes: ['NVIDIA A100-SXM4-80GB'] } } });

    const types = await provider().gpuTypes();

    // A worker lands on whichever pool has room: the price is the most it can be.
    assert.deepEqual(
      types.map(({ id, pricePerHourUsd }) => ({ id, pricePerHourUsd })),
      [
        { id: 'RTX4090', pricePerHourUsd: '2.72' },
        { id: 'A100', pricePerHourUsd: '2.72' },
      ],
    );
    assert.equal(countRequests(/^GET \/v2\/serverless\/fake-endpoint-1$/), 1);
  });

  it('reads the catalog after a 429 with Retry-After and a 500, instead of falling back', async function () {
    await start();
    fake.fault({ method: 'GET', path: '/v2/catalog/gpus', status: 429, retryAfter: 0 });
    fake.fault({ method: 'GET', path: '/v2/catalog/gpus', status: 500 });

    const types = await provider().gpuTypes();

    assert.equal(types.find((type) => type.id === 'A100')?.pricePerHourUsd, '2.72', 'the catalog price, not the built-in one');
    assert.deepEqual(
      fake.calls.filter((call) => call.path === '/v2/catalog/gpus').map((call) => call.status),
      [429, 500, 200],
    );
  });

  it('falls back to the built-in table of serverless prices, and says so, when the catalog keeps failing', async function () {
    await start();
    fake.fault({ method: 'GET', path: '/v2/catalog/gpus', status: 503, times: 10 });
    const ids = FALLBACK_GPU_TYPES.map((type) => type.id);

    const types = await provider({ endpointId: undefined, endpoints: ids.map((gpuType) => ({ gpuType, endpointId: fake.endpointId })) }).gpuTypes();

    assert.deepEqual(
      types,
      FALLBACK_GPU_TYPES.map(({ pool: _pool, ...type }) => type),
    );
    // RunPod's serverless flex rates per second x 3600, not its pod rates (0.69, 1.64, 2.99).
    const price = (id: string) => types.find((type) => type.id === id)?.pricePerHourUsd;
    assert.deepEqual([price('RTX4090'), price('A100'), price('H100')], ['1.116', '2.736', '4.176']);
    for (const type of types)
      assert.ok(type.id.startsWith(shortGpuId(type.providerGpuId)), `${type.id} is the id the catalog would give ${type.providerGpuId}`);
    assert.ok(
      logged.some((message) => /catalog unavailable.*built-in price table, RunPod's serverless flex prices/.test(message)),
      logged.join('\n'),
    );
  });
});
