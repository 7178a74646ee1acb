import assert from 'node:assert/strict';
import { DomainError } from '../../server/domain-error';
import type { DeploymentEvents, DeploymentSpec, ProviderView } from '../../server/providers/deployment-provider';
import { RunPodPodsProvider, type RunPodPodsProviderOptions } from '../../server/providers/runpod/pods';
import { NO_CAPACITY_DETAIL, startFakeRunPodPods, type FakeRunPodPods, type FakeRunPodPodsOptions } from '../helpers/fake-runpod-pods';

const RTX4090 = 'NVIDIA GeForce RTX 4090';
const A100 = 'NVIDIA A100 80GB PCIe';
/** Shaped like a deployment token: `sit_<12-character lookup>_<38 characters>`. */
const TOKEN = 'sit_0123456789AB_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL';

function deploymentSpec(overrides: Partial<DeploymentSpec> = {}): DeploymentSpec {
  return {
    deploymentId: 'dep_01HPODTEST',
    name: 'mp-dep_01HPODTEST',
    templateDir: '/nonexistent/template',
    image: 'ghcr.io/vendor/signal-endpoint:1.0',
    gpuTypes: ['RTX4090', 'A100'],
    gpuCount: 1,
    cpu: 2,
    memoryGb: 4,
    env: {
      MP_DEPLOYMENT_TOKEN: TOKEN,
      MP_API_URL: 'https://mp.example',
      MP_HEARTBEAT_SECONDS: '10',
      MP_MODEL_URL: 'https://mp.example/files/model.json?sig=s3cr3t-signature',
    },
    ...overrides,
  };
}

interface Recording {
  events: DeploymentEvents;
  provisioned: string[];
  lines: string[];
  /** The fake's request count at the moment provisioned() was called. */
  requestsAtProvisioned: number | null;
}

function record(fake: FakeRunPodPods, onProvisioned?: (id: string) => Promise<void>): Recording {
  const recording: Recording = {
    provisioned: [],
    lines: [],
    requestsAtProvisioned: null,
    events: {
      provisioned: async (id) => {
        recording.requestsAtProvisioned = fake.requests.length;
        recording.provisioned.push(id);
        await onProvisioned?.(id);
      },
      log: (_stream, line) => {
        recording.lines.push(line);
      },
      ended: () => undefined,
    },
  };
  return recording;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Error);
    return error;
  }
  assert.fail('expected a rejection');
}

describe('RunPod pods provider against a RunPod-like server', function () {
  let fake: FakeRunPodPods;
  let logged: string[];

  async function start(options: FakeRunPodPodsOptions = {}): Promise<FakeRunPodPods> {
    fake = await startFakeRunPodPods(options);
    return fake;
  }

  function provider(overrides: Partial<RunPodPodsProviderOptions> = {}): RunPodPodsProvider {
    return new RunPodPodsProvider({
      apiKey: fake.apiKey,
      restBaseUrl: fake.url,
      retryDelayMs: 10,
      pollIntervalMs: 10,
      log: (message) => logged.push(message),
      ...overrides,
    });
  }

  async function inspectUntil(pods: RunPodPodsProvider, id: string, done: (view: ProviderView) => boolean): Promise<ProviderView[]> {
    const seen: ProviderView[] = [];
    const deadline = Date.now() + 5000;
    for (;;) {
      const view = await pods.inspect(id);
      seen.push(view);
      if (done(view)) return seen;
      assert.ok(Date.now() < deadline, `still ${view.status} after 5 s`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  function paths(): string[] {
    return fake.requests.map((request) => `${request.method} ${request.path}`);
  }

  beforeEach(function () {
    logged = [];
  });

  afterEach(async function () {
    await fake?.close();
  });

  it('creates a GPU pod, records its id at once, and follows it to RUNNING with the proxy URL of port 8080', async function () {
    await start();
    const pods = provider();
    const recording = record(fake);

    const provisioned = await pods.provision(deploymentSpec(), recording.events);

    assert.equal(fake.pods.size, 1);
    const [pod] = [...fake.pods.values()];
    assert.deepEqual(provisioned, { providerRef: pod.id, endpointUrl: null });
    assert.deepEqual(recording.provisioned, [pod.id]);
    assert.equal(recording.requestsAtProvisioned, fake.requests.length, 'provisioned() came before anything else was asked of RunPod');
    assert.deepEqual(fake.creates()[0].body, {
      name: 'mp-dep_01HPODTEST',
      image: 'ghcr.io/vendor/signal-endpoint:1.0',
      cloud: 'SECURE',
      disk: 20,
      env: { ...deploymentSpec().env, PORT: '8080' },
      ports: ['8080/http'],
      gpu: { id: RTX4090, count: 1 },
    });

    const views = await inspectUntil(pods, pod.id, (view) => view.status === 'RUNNING');
    const statuses = [...new Set(views.map((view) => view.status))];
    assert.deepEqual(statuses.slice(-1), ['RUNNING']);
    assert.ok(
      statuses.every((status) => ['PROVISIONING', 'STARTING', 'RUNNING'].includes(status)),
      statuses.join(),
    );
    assert.deepEqual(views[views.length - 1], { status: 'RUNNING', endpointUrl: `https://${pod.id}-8080.proxy.runpod.net` });
    assert.ok(
      views.filter((view) => view.status !== 'RUNNING').every((view) => view.endpointUrl === null),
      'no URL before the pod runs',
    );
    assert.deepEqual(pod.containerEnv(), { ...deploymentSpec().env, PORT: '8080' });
    assert.ok(
      fake.requests.every((request) => request.authorization === `Bearer ${fake.apiKey}`),
      'every request carries the API key',
    );
    assert.ok(
      recording.lines.some((line) => line.includes(`RunPod pod ${pod.id} created on ${RTX4090}`)),
      recording.lines.join('\n'),
    );
  });

  it('looks for a pod of the same name before the first create, and creates only when there is none', async function () {
    await start();
    await provider().provision(deploymentSpec(), record(fake).events);
    const sequence = paths();
    assert.deepEqual(sequence.slice(sequence.indexOf('GET /v2/pods')), ['GET /v2/pods', 'POST /v2/pods']);
  });

  it('creates a CPU pod when no GPU type is asked', async function () {
    await start();
    await provider().provision(deploymentSpec({ gpuTypes: [], cpu: 3 }), record(fake).events);
    const body = fake.creates()[0].body as Record<string, unknown>;
    assert.deepEqual(body.cpu, { id: 'cpu5c', vcpuCount: 4 });
    assert.equal(body.gpu, undefined);
  });

  it('tries the next GPU type when RunPod has no capacity for the first', async function () {
    await start();
    fake.noCapacity(RTX4090);
    const recording = record(fake);

    const provisioned = await provider().provision(deploymentSpec(), recording.events);

    assert.deepEqual(
      fake.creates().map((request) => (request.body as { gpu: { id: string } }).gpu.id),
      [RTX4090, A100],
    );
    assert.deepEqual(
      fake.creates().map((request) => request.status),
      [400, 201],
    );
    assert.equal(fake.livePods().length, 1);
    assert.equal(fake.livePods()[0].gpu?.id, A100);
    assert.deepEqual(recording.provisioned, [provisioned.providerRef]);
    assert.ok(
      recording.lines.some((line) => line.includes(`RunPod refused RTX4090 (${RTX4090}) (HTTP 400: ${NO_CAPACITY_DETAIL}); trying the next GPU type`)),
      recording.lines.join('\n'),
    );
  });

  it('fails with a message listing every GPU type tried when none has capacity, leaving no pod', async function () {
    await start();
    fake.noCapacity(RTX4090, A100);
    const recording = record(fake);

    const error = await rejection(provider().provision(deploymentSpec(), recording.events));

    assert.ok(error instanceof DomainError);
    assert.equal(error.code, 'PRECONDITION_FAILED');
    assert.match(error.message, /^RunPod has no capacity for any GPU type asked; tried /);
    assert.ok(error.message.includes(`RTX4090 (${RTX4090}): HTTP 400 ${NO_CAPACITY_DETAIL}`), error.message);
    assert.ok(error.message.includes(`A100 (${A100}): HTTP 400 ${NO_CAPACITY_DETAIL}`), error.message);
    assert.match(error.message, /Ask for other GPU types \(gpuTypes\) or try again later/);
    assert.equal(fake.creates().length, 2);
    assert.equal(fake.livePods().length, 0);
    assert.deepEqual(recording.provisioned, []);
  });

  it('takes one reason that is not about capacity, given for every GPU type, as a rule the request breaks', async function () {
    await start();
    fake.fault({ method: 'POST', path: '/v2/pods', status: 400, detail: 'gpu.count 9 exceeds the maximum of 8 for this GPU type', times: 2 });

    const error = await rejection(provider().provision(deploymentSpec({ gpuCount: 9 }), record(fake).events));

    assert.ok(error instanceof DomainError);
    assert.equal(error.code, 'BAD_USER_INPUT');
    assert.equal(
      error.message,
      `RunPod refused the pod for the same reason on every GPU type asked (RTX4090 (${RTX4090}), A100 (${A100})), ` +
        'so the request breaks one of its rules: gpu.count 9 exceeds the maximum of 8 for this GPU type',
    );
    assert.equal(fake.creates().length, 2);
  });

  it('waits out Retry-After on a 429 and then creates the pod once', async function () {
    await start();
    fake.fault({ method: 'POST', path: '/v2/pods', status: 429, retryAfter: 1 });

    await provider().provision(deploymentSpec(), record(fake).events);

    const creates = fake.creates();
    assert.deepEqual(
      creates.map((request) => request.status),
      [429, 201],
    );
    const waited = creates[1].at - creates[0].at;
    assert.ok(waited >= 990, `the retry came ${waited} ms after the 429, not after Retry-After (1 s)`);
    assert.equal(fake.livePods().length, 1);
    assert.ok(
      logged.some((message) => /POST \/v2\/pods: HTTP 429 \(Retry-After 1\)/.test(message)),
      logged.join('\n'),
    );
  });

  it('adopts the pod a create answered with 500 had made, found by name, without creating a second', async function () {
    await start();
    fake.fault({ method: 'POST', path: '/v2/pods', status: 500, afterHandling: true });
    const recording = record(fake);

    const provisioned = await provider().provision(deploymentSpec(), recording.events);

    assert.equal(fake.creates().length, 1, 'no second create');
    assert.equal(fake.pods.size, 1, 'exactly one pod exists');
    const [pod] = [...fake.pods.values()];
    assert.equal(provisioned.providerRef, pod.id);
    assert.deepEqual(recording.provisioned, [pod.id]);
    const sequence = paths();
    assert.deepEqual(sequence.slice(sequence.indexOf('POST /v2/pods')), ['POST /v2/pods', 'GET /v2/pods']);
    assert.ok(
      recording.lines.some((line) => line.includes(`Adopted RunPod pod ${pod.id}`)),
      recording.lines.join('\n'),
    );
  });

  it('creates again after a 500 that made no pod, once the name finds none', async function () {
    await start();
    fake.fault({ method: 'POST', path: '/v2/pods', status: 503 });

    await provider().provision(deploymentSpec(), record(fake).events);

    assert.deepEqual(
      fake.creates().map((request) => request.status),
      [503, 201],
    );
    const sequence = paths();
    assert.deepEqual(sequence.slice(sequence.indexOf('POST /v2/pods')), ['POST /v2/pods', 'GET /v2/pods', 'POST /v2/pods']);
    assert.equal(fake.pods.size, 1);
  });

  it('adopts a dropped create that made its pod', async function () {
    await start();
    fake.fault({ method: 'POST', path: '/v2/pods', status: 'drop', afterHandling: true });

    const provisioned = await provider().provision(deploymentSpec(), record(fake).events);

    assert.equal(fake.creates().length, 1);
    assert.equal(fake.pods.size, 1);
    assert.equal(provisioned.providerRef, [...fake.pods.keys()][0]);
  });

  it('stops at 402 with the reason and tries no other GPU type', async function () {
    await start();
    fake.fault({ method: 'POST', path: '/v2/pods', status: 402, detail: 'insufficient balance: $0.12 left, this pod needs $0.44/h' });

    const error = await rejection(provider().provision(deploymentSpec(), record(fake).events));

    assert.ok(error instanceof DomainError);
    assert.equal(error.code, 'PRECONDITION_FAILED');
    assert.match(error.message, /^insufficient RunPod balance: add funds to the RunPod account/);
    assert.ok(error.message.includes('$0.12 left'), error.message);
    assert.equal(fake.creates().length, 1);
    assert.equal(fake.pods.size, 0);
  });

  it('never retries a 422 and reports what RunPod found wrong', async function () {
    await start();
    fake.fault({ method: 'POST', path: '/v2/pods', status: 422, detail: 'Request validation failed.', errors: ['$.image: invalid reference format'] });

    const error = await rejection(provider().provision(deploymentSpec(), record(fake).events));

    assert.ok(error instanceof DomainError);
    assert.equal(error.code, 'BAD_USER_INPUT');
    assert.equal(error.message, 'RunPod rejected the pod request (HTTP 422): Request validation failed.: $.image: invalid reference format');
    assert.deepEqual(
      error.details.fields?.map((field) => field.field),
      ['image'],
    );
    assert.equal(fake.creates().length, 1);
  });

  it('says the key lacks permission when RunPod answers 403 for every GPU type', async function () {
    await start();
    fake.fault({ method: 'POST', path: '/v2/pods', status: 403, detail: 'access denied', times: 2 });

    const error = await rejection(provider().provision(deploymentSpec(), record(fake).events));

    assert.ok(error instanceof DomainError);
    assert.match(error.message, /^the RunPod API key lacks permission to create pods/);
    assert.equal(fake.creates().length, 2);
  });

  it('refuses a deployment without an image before calling RunPod', async function () {
    await start();
    const error = await rejection(provider().provision(deploymentSpec({ image: undefined }), record(fake).events));
    assert.ok(error instanceof DomainError);
    assert.equal(error.code, 'BAD_USER_INPUT');
    assert.deepEqual(
      error.details.fields?.map((field) => field.field),
      ['image'],
    );
    assert.deepEqual(fake.requests, []);
  });

  it('refuses a GPU type RunPod does not have, naming the ones it has, before creating anything', async function () {
    await start();
    const error = await rejection(provider().provision(deploymentSpec({ gpuTypes: ['RTX4090', 'TPU9'] }), record(fake).events));
    assert.ok(error instanceof DomainError);
    assert.equal(error.code, 'BAD_USER_INPUT');
    assert.match(error.message, /^gpuTypes: RunPod has no GPU type "TPU9"; known: .*RTX4090/);
    assert.equal(fake.creates().length, 0);
  });

  it('adopts the older of two pods named like the deployment and terminates the other', async function () {
    await start();
    const first = await provider().provision(deploymentSpec(), record(fake).events);
    await new Promise((resolve) => setTimeout(resolve, 5));
    // A second pod of that name, as an unclear create of another attempt could have left.
    await fetch(`${fake.url}/v2/pods`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'mp-dep_01HPODTEST', image: 'x:1', gpu: { id: A100, count: 1 } }),
    });
    assert.equal(fake.livePods().length, 2);

    const again = await provider().provision(deploymentSpec(), record(fake).events);

    assert.equal(again.providerRef, first.providerRef);
    assert.deepEqual(
      fake.livePods().map((pod) => pod.id),
      [first.providerRef],
    );
  });

  it('terminates the pod when its id cannot be recorded', async function () {
    await start();
    const recording = record(fake, async () => {
      throw new Error('database is gone');
    });

    const error = await rejection(provider().provision(deploymentSpec(), recording.events));

    assert.match(error.message, /could not be recorded \(database is gone\); the pod was terminated$/);
    assert.equal(fake.livePods().length, 0);
  });

  it('inspects a pod that goes to ERROR as FAILED with the reason', async function () {
    await start();
    fake.script({ provisioningMs: 5, startingMs: 5, end: 'ERROR' });
    const pods = provider();
    const { providerRef } = await pods.provision(deploymentSpec(), record(fake).events);

    const views = await inspectUntil(pods, providerRef, (view) => view.status === 'FAILED');

    assert.deepEqual(views[views.length - 1], {
      status: 'FAILED',
      endpointUrl: null,
      reason: `RunPod pod ${providerRef} is in ERROR: its container is in an unrecoverable error state (see the pod's logs on RunPod)`,
    });
  });

  it('inspects an EXITED pod as STOPPED, a terminated one as STOPPED, and an unknown one as gone', async function () {
    await start({ defaultScript: { provisioningMs: 0, startingMs: 0, end: 'EXITED' } });
    const pods = provider();
    const { providerRef } = await pods.provision(deploymentSpec(), record(fake).events);

    assert.deepEqual(await pods.inspect(providerRef), {
      status: 'STOPPED',
      endpointUrl: null,
      reason: `RunPod pod ${providerRef} EXITED: its container stopped`,
    });
    await pods.terminate(providerRef);
    assert.deepEqual(await pods.inspect(providerRef), { status: 'STOPPED', endpointUrl: null, reason: `RunPod pod ${providerRef} was terminated` });
    assert.deepEqual(await pods.inspect('nosuchpod'), { status: 'STOPPED', endpointUrl: null, reason: 'the pod no longer exists' });
  });

  it('terminates idempotently: twice, after RunPod forgot the pod, and for a pod that never existed', async function () {
    await start();
    const pods = provider();
    const { providerRef } = await pods.provision(deploymentSpec(), record(fake).events);

    await pods.terminate(providerRef);
    assert.equal(fake.pods.get(providerRef)?.status(), 'TERMINATED');
    await pods.terminate(providerRef);
    await pods.terminate('nosuchpod');

    const actions = fake.requests.filter((request) => request.path.endsWith('/action'));
    assert.deepEqual(
      actions.map((request) => [request.body, request.status]),
      [
        [{ action: 'terminate' }, 204],
        [{ action: 'terminate' }, 409],
        [{ action: 'terminate' }, 404],
      ],
    );
    assert.equal(fake.livePods().length, 0);
  });

  it('terminates a pod RunPod no longer lists at all (404)', async function () {
    await start({ forgetTerminated: true });
    const pods = provider();
    const { providerRef } = await pods.provision(deploymentSpec(), record(fake).events);
    await pods.terminate(providerRef);
    await pods.terminate(providerRef);
    assert.deepEqual(
      fake.requests.filter((request) => request.path.endsWith('/action')).map((request) => request.status),
      [204, 404],
    );
  });

  it('stops a pod first when RunPod refuses to terminate it (409), then terminates it', async function () {
    await start();
    const pods = provider();
    const { providerRef } = await pods.provision(deploymentSpec(), record(fake).events);
    await inspectUntil(pods, providerRef, (view) => view.status === 'RUNNING');
    fake.fault({ method: 'POST', path: `/v2/pods/${providerRef}/action`, action: 'terminate', status: 409, detail: 'not now' });

    await pods.terminate(providerRef);

    assert.deepEqual(
      fake.requests.filter((request) => request.path.endsWith('/action')).map((request) => [(request.body as { action: string }).action, request.status]),
      [
        ['terminate', 409],
        ['stop', 200],
        ['terminate', 204],
      ],
    );
    assert.equal(fake.pods.get(providerRef)?.status(), 'TERMINATED');
  });

  it('updates the environment of a running pod and restarts it, keeping what it had', async function () {
    await start();
    const pods = provider();
    const { providerRef } = await pods.provision(deploymentSpec(), record(fake).events);
    await inspectUntil(pods, providerRef, (view) => view.status === 'RUNNING');
    const pod = fake.pods.get(providerRef)!;
    assert.equal(pod.containerStarts(), 1);

    await pods.updateEnvironment(providerRef, { MP_SIGNALS_URL: 'https://infra.example/signals' });

    const patch = fake.requests.find((request) => request.method === 'PATCH');
    assert.deepEqual(patch?.body, { env: { ...deploymentSpec().env, PORT: '8080', MP_SIGNALS_URL: 'https://infra.example/signals' } });
    assert.deepEqual(
      fake.requests.filter((request) => request.path.endsWith('/action')).map((request) => request.body),
      [{ action: 'restart' }],
    );
    await inspectUntil(pods, providerRef, (view) => view.status === 'RUNNING');
    assert.equal(pod.containerStarts(), 2);
    assert.equal(pod.containerEnv()?.MP_SIGNALS_URL, 'https://infra.example/signals');
  });

  it('updates the environment of a pod still provisioning without a restart: its container starts with it', async function () {
    await start({ defaultScript: { provisioningMs: 2000, startingMs: 10 } });
    const pods = provider();
    const { providerRef } = await pods.provision(deploymentSpec(), record(fake).events);

    await pods.updateEnvironment(providerRef, { MP_DEPLOYMENT_TOKEN: `${TOKEN.slice(0, -4)}WXYZ` });

    assert.equal(fake.requests.filter((request) => request.path.endsWith('/action')).length, 0);
    await inspectUntil(pods, providerRef, (view) => view.status === 'RUNNING');
    assert.equal(fake.pods.get(providerRef)?.containerEnv()?.MP_DEPLOYMENT_TOKEN, `${TOKEN.slice(0, -4)}WXYZ`);
  });

  it('waits for a STARTING pod to run before restarting it with the new environment', async function () {
    await start({ defaultScript: { provisioningMs: 0, startingMs: 1500 } });
    const pods = provider();
    const { providerRef } = await pods.provision(deploymentSpec(), record(fake).events);
    assert.equal((await pods.inspect(providerRef)).status, 'STARTING');

    await pods.updateEnvironment(providerRef, { MP_SIGNALS_URL: 'https://infra.example/signals' });

    const restart = fake.requests.find((request) => request.path.endsWith('/action'));
    assert.deepEqual([restart?.body, restart?.status], [{ action: 'restart' }, 200]);
    await inspectUntil(pods, providerRef, (view) => view.status === 'RUNNING');
    assert.equal(fake.pods.get(providerRef)?.containerEnv()?.MP_SIGNALS_URL, 'https://infra.example/signals');
  });

  it('updates the environment of an EXITED pod without starting it, and says NOT_FOUND for a pod that is gone', async function () {
    await start({ defaultScript: { provisioningMs: 0, startingMs: 0, end: 'EXITED' } });
    const pods = provider();
    const { providerRef } = await pods.provision(deploymentSpec(), record(fake).events);

    await pods.updateEnvironment(providerRef, { MP_SIGNALS_URL: 'https://infra.example/signals' });
    assert.equal(fake.pods.get(providerRef)?.env.MP_SIGNALS_URL, 'https://infra.example/signals');
    assert.equal(fake.requests.filter((request) => request.path.endsWith('/action')).length, 0);
    assert.equal(fake.pods.get(providerRef)?.status(), 'EXITED');

    await pods.terminate(providerRef);
    const error = await rejection(pods.updateEnvironment(providerRef, { MP_SIGNALS_URL: 'https://infra.example/other' }));
    assert.ok(error instanceof DomainError);
    assert.equal(error.code, 'NOT_FOUND');
    assert.equal(error.message, `RunPod pod ${providerRef} no longer exists`);
  });

  it('never lets the API key, the deployment token or a signed URL into an error or log message', async function () {
    await start({ echoKeyInErrors: true });
    const messages: string[] = [];
    const collect = async (promise: Promise<unknown>): Promise<void> => {
      messages.push((await rejection(promise)).message);
    };

    // A wrong key that RunPod echoes back.
    const wrongKey = `rpa_WRONG${fake.apiKey.slice(9)}`;
    const stranger = provider({ apiKey: wrongKey });
    await collect(stranger.provision(deploymentSpec(), record(fake).events));
    await collect(stranger.inspect('somepod'));
    await collect(stranger.terminate('somepod'));
    await collect(stranger.updateEnvironment('somepod', { MP_DEPLOYMENT_TOKEN: TOKEN }));
    assert.ok(
      messages.every((message) => message.includes('RunPod refused the API key (HTTP 401')),
      messages.join('\n'),
    );

    // RunPod echoing the request, the key and the environment in its problems.
    const echo = `key ${fake.apiKey}, Authorization: Bearer ${fake.apiKey}, env ${JSON.stringify(deploymentSpec().env)}`;
    const pods = provider();
    fake.fault({ method: 'POST', path: '/v2/pods', status: 422, detail: echo });
    await collect(pods.provision(deploymentSpec(), record(fake).events));
    fake.fault({ method: 'POST', path: '/v2/pods', status: 402, detail: echo });
    await collect(pods.provision(deploymentSpec(), record(fake).events));
    fake.noCapacity(RTX4090, A100);
    fake.fault({ method: 'POST', path: '/v2/pods', status: 400, detail: echo, times: 2 });
    await collect(pods.provision(deploymentSpec(), record(fake).events));
    // Calls that know no environment: the key and anything shaped like a token.
    const keyEcho = `key ${fake.apiKey}, Authorization: Bearer ${fake.apiKey}, token ${TOKEN}`;
    fake.fault({ method: 'GET', path: /^\/v2\/pods\//, status: 400, detail: keyEcho });
    await collect(pods.inspect('somepod'));
    fake.fault({ method: 'POST', path: /\/action$/, status: 400, detail: keyEcho });
    await collect(pods.terminate('somepod'));

    const everything = [...messages, ...logged];
    for (const secret of [fake.apiKey, wrongKey, TOKEN.slice(17), 's3cr3t-signature']) {
      const leaks = everything.filter((message) => message.includes(secret));
      assert.deepEqual(leaks, [], `${secret} leaked`);
    }
    assert.equal(messages.length, 9);
  });
});
