import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import WebSocket, { WebSocketServer } from 'ws';
import { buildCli } from '../../cli/index';
import { buildInput, modelSource, run as deploy, type DeployArgs } from '../../cli/commands/deploy/create';
import { run as deployList } from '../../cli/commands/deploy/list';
import { run as deployStatus } from '../../cli/commands/deploy/status';
import { run as deployStop } from '../../cli/commands/deploy/stop';
import { run as tokenRotate } from '../../cli/commands/deploy/token-rotate';
import { run as heartbeat } from '../../cli/commands/heartbeat';
import { run as linkInfra } from '../../cli/commands/link-infra';
import { deploymentColumns, detailPairs } from '../../cli/commands/deploy/display';
import { parseDeploymentStatuses, parseGpuTypes } from '../../cli/commands/deploy/flags';
import { createWaitProgress } from '../../cli/commands/deploy/spinner';
import { deploymentName, projectDeploymentName } from '../../cli/commands/deploy/project';
import type { RetryPolicy } from '../../cli/commands/train/follow';
import { CliError, ExitCode } from '../../cli/errors';
import type { GlobalArgs } from '../../cli/global-options';
import type { Io } from '../../cli/io';
import { painter, renderTable } from '../../cli/output';
import type { DeployHealthFollowSubscription, DeploymentFieldsFragment } from '../../generated/cli-operations';
import {
  BufferedOutput,
  closeServer,
  expectCliError,
  fakeSchema,
  graphqlListener,
  inProcessIo,
  listenLocally,
  type GraphqlResponder,
  type SeenGraphqlRequest,
} from '../helpers/cli-fakes';

type HealthEvent = DeployHealthFollowSubscription['deploymentHealth'];
type Change = { at: string; status: string; health: string; reason: string };

interface SubscribeCall {
  id: string;
  authorization: unknown;
  socket: WebSocket;
  /** 1 for the first subscription of the test, 2 for the next... */
  index: number;
}
type Subscriber = (call: SubscribeCall) => AsyncIterable<HealthEvent>;

/**
 * A stand-in marketplace API on port 0: HTTP POST /graphql answered by `respond`, and
 * graphql-ws on the same path whose deploymentHealth subscription is `subscribe`.
 */
async function fakeApi(respond: GraphqlResponder, subscribe?: Subscriber) {
  const seen: SeenGraphqlRequest[] = [];
  const calls: Array<{ id: string; authorization: unknown }> = [];
  const server = http.createServer(graphqlListener(seen, respond));
  const sockets = new WebSocketServer({ server, path: '/graphql' });
  const schema = fakeSchema({
    Subscription: {
      deploymentHealth: {
        subscribe: (_parent: unknown, args: { deploymentId: string }, context: { socket: WebSocket; authorization: unknown }) => {
          calls.push({ id: args.deploymentId, authorization: context.authorization });
          if (!subscribe) throw new GraphQLError('no subscriptions here');
          return subscribe({ id: args.deploymentId, authorization: context.authorization, socket: context.socket, index: calls.length });
        },
        resolve: (event: HealthEvent) => event,
      },
    },
  });
  const disposable = useServer({ schema, context: (ctx) => ({ socket: ctx.extra.socket, authorization: ctx.connectionParams?.authorization }) }, sockets);
  const url = `${await listenLocally(server)}/graphql`;
  return {
    url,
    seen,
    calls,
    async close() {
      for (const client of sockets.clients) client.terminate();
      await disposable.dispose();
      await closeServer(server);
    },
  };
}

const KEY = `vk_${'a'.repeat(12)}_${'b'.repeat(38)}`;
const TOKEN = `sit_${'c'.repeat(12)}_${'d'.repeat(38)}`;
const T0 = Date.parse('2026-11-25T17:00:00.000Z');
/** The instant `seconds` after the first event. */
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

function deployment(overrides: Partial<DeploymentFieldsFragment> = {}): DeploymentFieldsFragment {
  return {
    id: 'dep_1',
    name: 'momentum-ridge',
    status: 'PENDING',
    health: 'UNKNOWN',
    actions: ['STOP', 'ROTATE_TOKEN', 'LINK_INFRA'],
    provider: 'LOCAL',
    providerRef: null,
    template: 'runpod-signal-http',
    endpointUrl: null,
    heartbeatIntervalSeconds: 10,
    lastHeartbeatAt: null,
    lastHeartbeat: null,
    signalsUrl: null,
    rateLimitPerMinute: 60,
    tokenPrefix: `sit_${'c'.repeat(12)}_…`,
    createdAt: at(0),
    updatedAt: at(0),
    model: { kind: 'BUILT_IN', ref: null, sha256: null },
    resources: { gpuTypes: [], gpuCount: 1, cpu: 2, memoryGb: 4, image: null },
    ...overrides,
  };
}

/** The history of a LOCAL deployment up to `last` changes: PENDING, PROVISIONING, STARTING, RUNNING/HEALTHY. */
const HISTORY: Change[] = [
  { at: at(0), status: 'PENDING', health: 'UNKNOWN', reason: 'created by the vendor' },
  { at: at(1), status: 'PROVISIONING', health: 'UNKNOWN', reason: 'handed to LOCAL' },
  { at: at(2), status: 'STARTING', health: 'UNKNOWN', reason: 'started: waiting for its first READY heartbeat' },
  { at: at(3), status: 'RUNNING', health: 'HEALTHY', reason: 'the endpoint reported READY' },
];
const ENDPOINT = 'http://127.0.0.1:43211';

/** The deployment as it is after `change`. */
function after(change: Change, overrides: Partial<DeploymentFieldsFragment> = {}): DeploymentFieldsFragment {
  const started = !['PENDING', 'PROVISIONING'].includes(change.status);
  const ended = ['STOPPED', 'FAILED'].includes(change.status);
  return deployment({
    status: change.status as DeploymentFieldsFragment['status'],
    health: change.health as DeploymentFieldsFragment['health'],
    endpointUrl: started ? ENDPOINT : null,
    providerRef: started ? 'local-4242' : null,
    actions: ended || change.status === 'STOPPING' ? [] : ['STOP', 'ROTATE_TOKEN', 'LINK_INFRA'],
    updatedAt: change.at,
    ...overrides,
  });
}

function event(change: Change, overrides: Partial<DeploymentFieldsFragment> = {}): HealthEvent {
  return { ...change, deployment: after(change, overrides) } as HealthEvent;
}

async function* events(list: HealthEvent[], delayMs = 20): AsyncGenerator<HealthEvent> {
  for (const item of list) {
    await sleep(delayMs);
    yield item;
  }
}

/** A subscription that sends nothing (its timer does not keep the test process alive). */
async function* forever(): AsyncGenerator<HealthEvent> {
  await sleep(60_000, undefined, { ref: false });
  yield* [];
}

/** What DeployState and DeployStatus answer for the given history. */
function stateOf(history: Change[], overrides: Partial<DeploymentFieldsFragment> = {}) {
  const last = history[history.length - 1];
  return { data: { deployment: { ...after(last, overrides), history, logs: [] as string[] } } };
}

const FAST_RETRY: RetryPolicy = { maxAttempts: 3, delayMs: () => 20 };
const FAST = { retry: FAST_RETRY, resyncMs: 100 };

/** Parses argv (which ends in --help, so no handler runs) with the real yargs tree: the coerced args. */
async function parsed(argv: string[]): Promise<Record<string, unknown>> {
  return (await buildCli(argv).parseAsync(argv, {}, () => undefined)) as Record<string, unknown>;
}

async function usageErrorFor(argv: string[], help = true): Promise<CliError> {
  const full = help ? [...argv, '--help'] : argv;
  try {
    await buildCli(full).parseAsync(full, {}, () => undefined);
  } catch (error) {
    assert.ok(error instanceof CliError, `expected a CliError, got ${String(error)}`);
    assert.equal(error.exitCode, ExitCode.USAGE);
    return error;
  }
  assert.fail(`expected "mp ${argv.join(' ')}" to be a usage error`);
}

describe('mp deploy, link-infra and heartbeat', function () {
  this.timeout(20_000);
  let home: string;
  let project: string;
  let api: Awaited<ReturnType<typeof fakeApi>> | undefined;
  let stdout: BufferedOutput;
  let stderr: BufferedOutput;

  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-deploy-'));
    project = path.join(home, 'momentum');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: '@acme/momentum-ridge', mp: { kind: 'inference', task: 'SIGNAL' } }));
    stdout = new BufferedOutput();
    stderr = new BufferedOutput();
  });
  afterEach(async () => {
    await api?.close();
    api = undefined;
    fs.rmSync(home, { recursive: true, force: true });
  });

  function io(env: NodeJS.ProcessEnv = { MP_API_KEY: KEY }): Io {
    return inProcessIo(stdout, stderr, { XDG_CONFIG_HOME: home, ...env });
  }

  function globals(json = false): GlobalArgs {
    assert.ok(api, 'start the fake API first');
    return { apiUrl: api.url, json, verbose: false, color: false };
  }

  function deployArgs(overrides: Partial<DeployArgs> = {}, json = false): DeployArgs {
    return { ...globals(json), showToken: false, wait: false, ...overrides };
  }

  const created = (token: string | null = TOKEN, overrides: Partial<DeploymentFieldsFragment> = {}) => ({
    data: { createDeployment: { token, deployment: deployment(overrides) } },
  });
  const notFound = { data: null, errors: [{ message: 'no deployment dep_nope among yours (see mp deploy list)', extensions: { code: 'NOT_FOUND' } }] };

  describe('flags and input', () => {
    it("maps --model: a run id to trainingRunId, an http(s) URL to url, anything else to a path as given (the server's model directory)", () => {
      assert.deepEqual(modelSource('run_2Xf9abc', 'AB'.repeat(32), undefined), { trainingRunId: 'run_2Xf9abc', sha256: 'ab'.repeat(32) });
      assert.deepEqual(modelSource('https://hf.example/m.json', undefined, 'runpod'), { url: 'https://hf.example/m.json' });
      assert.deepEqual(modelSource(' momentum/model.json ', undefined, 'local'), { path: 'momentum/model.json' });
      assert.deepEqual(modelSource('/srv/mp/models/m.json', undefined, undefined), { path: '/srv/mp/models/m.json' });
    });

    it('refuses a non-http URL and a path for a runpod deployment (exit 2)', () => {
      for (const [ref, provider, pattern] of [
        ['ftp://host/m.json', undefined, /a URL must be http or https/],
        ['m.json', 'runpod', /is a path, which only a local deployment can read/],
      ] as const) {
        assert.throws(
          () => modelSource(ref, undefined, provider),
          (error: unknown) => error instanceof CliError && error.exitCode === ExitCode.USAGE && pattern.test(error.message),
        );
      }
    });

    it('builds the input from the flags only, leaving the rest to the server defaults', () => {
      assert.deepEqual(buildInput(deployArgsOffline({ name: ' big ' }), project), { name: 'big' });
      assert.deepEqual(
        buildInput(
          deployArgsOffline({
            provider: 'runpod',
            model: 'https://hf.example/m.json',
            modelSha256: 'f'.repeat(64),
            gpu: ['RTX4090', 'A100'],
            gpuCount: 2,
            cpu: 8,
            memory: 32,
            image: 'ghcr.io/acme/signal:1',
            heartbeatSeconds: 5,
            rateLimit: 600,
            signalsUrl: 'https://infra.example/api/signals/store',
          }),
          project,
        ),
        {
          name: 'momentum-ridge',
          provider: 'RUNPOD',
          model: { url: 'https://hf.example/m.json', sha256: 'f'.repeat(64) },
          gpuTypes: ['RTX4090', 'A100'],
          gpuCount: 2,
          cpu: 8,
          memoryGb: 32,
          image: 'ghcr.io/acme/signal:1',
          heartbeatIntervalSeconds: 5,
          rateLimitPerMinute: 600,
          signalsUrl: 'https://infra.example/api/signals/store',
        },
      );
    });

    it("names the deployment after the serving project's package (scope dropped), else its directory", () => {
      assert.equal(projectDeploymentName(project), 'momentum-ridge');
      fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ mp: { kind: 'inference' } }));
      assert.equal(projectDeploymentName(project), 'momentum');
      assert.equal(deploymentName('my model@2!'), 'my model-2');
      assert.equal(deploymentName('x'.repeat(80))?.length, 64);
      assert.equal(deploymentName('@scope/'), null);
    });

    it('refuses to deploy outside a serving project without --name (exit 2), naming what is missing', () => {
      const empty = path.join(home, 'empty');
      fs.mkdirSync(empty);
      const training = path.join(home, 'training');
      fs.mkdirSync(training);
      fs.writeFileSync(path.join(training, 'package.json'), JSON.stringify({ name: 'trainer', mp: { task: 'SIGNAL' } }));
      for (const [dir, reason] of [
        [empty, /has no package\.json/],
        [training, /does not declare "mp": \{"kind": "inference"\}/],
      ] as const) {
        assert.throws(
          () => buildInput(deployArgsOffline(), dir),
          (error: unknown) =>
            error instanceof CliError &&
            error.exitCode === ExitCode.USAGE &&
            error.message.startsWith("mp deploy outside a serving template's project") &&
            reason.test(error.message) &&
            /--name/.test(error.hint ?? ''),
        );
      }
      assert.equal(buildInput(deployArgsOffline({ name: 'anywhere' }), empty).name, 'anywhere');
    });

    it('parses --gpu lists, --status words and the bounded numbers, and refuses bad ones with exit 2', async () => {
      assert.deepEqual(parseGpuTypes(['RTX4090,A100', 'A100', ' H100 ']), ['RTX4090', 'A100', 'H100']);
      assert.deepEqual(parseGpuTypes('cpu'), []);
      assert.throws(() => parseGpuTypes('A100,cpu'), /invalid --gpu "cpu"/);
      assert.deepEqual(parseDeploymentStatuses('running,live'), ['RUNNING', 'PENDING', 'PROVISIONING', 'STARTING']);
      assert.throws(() => parseDeploymentStatuses('up'), /invalid --status "up"/);
      const args = await parsed([
        'deploy',
        '--name',
        'x',
        '--gpu',
        'RTX4090,A100',
        '--gpu-count',
        '2',
        '--cpu',
        '4',
        '--memory',
        '16',
        '--heartbeat-seconds',
        '5',
        '--rate-limit',
        '100',
        '--help',
      ]);
      assert.deepEqual(args.gpu, ['RTX4090', 'A100']);
      assert.deepEqual([args.gpuCount, args.cpu, args.memory, args.heartbeatSeconds, args.rateLimit], [2, 4, 16, 5, 100]);
      assert.match((await usageErrorFor(['deploy', '--gpu-count', '9'])).message, /invalid --gpu-count "9": use a whole number from 1 to 8/);
      assert.match((await usageErrorFor(['deploy', '--heartbeat-seconds', '0'])).message, /--heartbeat-seconds/);
      assert.match((await usageErrorFor(['deploy', '--memory', '1.5'])).message, /--memory/);
      assert.match((await usageErrorFor(['deploy', '--wait-timeout', 'soon'])).message, /--wait-timeout/);
      assert.match((await usageErrorFor(['deploy', '--provider', 'aws'], false)).message, /Invalid values/);
      assert.match((await usageErrorFor(['deploy', '--model-sha256', 'ab'], false)).message, /model-sha256 -> model/);
      assert.match((await usageErrorFor(['deploy', 'list', '--name', 'x'], false)).message, /Unknown argument: name/);
      assert.match((await usageErrorFor(['heartbeat', '--latency-ms', '-1'])).message, /--latency-ms/);
      assert.match((await usageErrorFor(['link-infra'], false)).message, /Missing required argument: deployment/);
      assert.equal((await parsed(['heartbeat', '--version', 'v3', '--help'])).version, 'v3');
    });

    for (const command of [
      ['deploy'],
      ['deploy', 'list'],
      ['deploy', 'status'],
      ['deploy', 'stop'],
      ['deploy', 'token'],
      ['deploy', 'token', 'rotate'],
      ['link-infra'],
      ['heartbeat'],
    ]) {
      it(`\`mp ${command.join(' ')} --help\` shows usage with an example`, async () => {
        const output = await new Promise<string>((resolve) => {
          void buildCli([...command, '--help']).parse([...command, '--help'], {}, (_error, _args, text) => resolve(text));
        });
        assert.match(output, new RegExp(`^mp ${command.join(' ')}`));
        assert.match(output, /Examples:\n\s+(MP_DEPLOYMENT_TOKEN=\S+ )?mp /);
        assert.match(output, /--json/);
      });
    }

    it('lists deployments with id, name, status, health, last heartbeat age and endpoint', () => {
      const rows = [after(HISTORY[3], { lastHeartbeatAt: at(3) }), deployment({ id: 'dep_2', name: 'other', status: 'STOPPED', health: 'UNKNOWN' })];
      const table = renderTable(deploymentColumns(new Date(T0 + 15_000)), rows, painter(false)).split('\n');
      assert.match(table[0], /^ID\s+NAME\s+STATUS\s+HEALTH\s+LAST HEARTBEAT\s+ENDPOINT$/);
      assert.match(table[1], /^dep_1\s+momentum-ridge\s+running\s+healthy\s+12s ago\s+http:\/\/127\.0\.0\.1:43211$/);
      assert.match(table[2], /^dep_2\s+other\s+stopped\s+unknown\s+-\s+-$/);
    });

    it('--wait draws a spinner with the elapsed time on a terminal and clears it when done; elsewhere one line per change', async () => {
      const terminal = Object.assign(new BufferedOutput(), { isTTY: true, columns: 60 });
      const spinner = createWaitProgress(terminal, { json: false, env: {}, initial: 'dep_1 PENDING: connecting' });
      spinner.update('dep_1 STARTING, health UNKNOWN: started');
      await sleep(200);
      spinner.log('! reconnecting');
      spinner.stop();
      const drawn = terminal.text;
      /* eslint-disable no-control-regex -- the spinner draws with terminal control sequences */
      assert.match(drawn, /\r\u001b\[2K[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] dep_1 PENDING: connecting \((0s|<1s|\d+s)\)/);
      // The elapsed time depends on how busy the machine is: only its form is checked.
      assert.match(drawn, /\r\u001b\[2K[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] dep_1 STARTING, health UNKNOWN: started \((<1s|\d+s)\)/);
      assert.match(drawn, /\r\u001b\[2K! reconnecting\n/);
      /* eslint-enable no-control-regex */
      assert.ok(drawn.endsWith('\r\u001b[2K'), 'the line is cleared at the end');
      const lines = drawn.split('\r\u001b[2K').filter(Boolean);
      assert.ok(
        lines.every((line) => [...line.replace(/\n$/, '')].length <= 60),
        'no line is wider than the terminal',
      );
      await sleep(100);
      assert.equal(terminal.text, drawn, 'nothing is drawn after stop');

      const plain = new BufferedOutput();
      const lined = createWaitProgress(plain, { json: false, env: {}, initial: 'ignored' });
      lined.update('dep_1 STARTING');
      lined.update('dep_1 STARTING');
      lined.update('dep_1 RUNNING');
      lined.stop();
      assert.equal(plain.text, 'dep_1 STARTING\ndep_1 RUNNING\n');
      const json = Object.assign(new BufferedOutput(), { isTTY: true });
      createWaitProgress(json, { json: true, env: {}, initial: 'x' }).update('dep_1 STARTING');
      assert.equal(json.text, 'dep_1 STARTING\n', 'no spinner with --json');
    });

    it('describes the model, resources and signals of a deployment in its details', () => {
      const pairs = Object.fromEntries(
        detailPairs(
          deployment({
            provider: 'RUNPOD',
            providerRef: 'pod-abc',
            model: { kind: 'TRAINING_RUN', ref: 'run_9', sha256: '8737fb4f4c9e'.padEnd(64, '0') },
            resources: { gpuTypes: ['RTX4090', 'A100'], gpuCount: 2, cpu: 8, memoryGb: 32, image: 'ghcr.io/acme/signal:1' },
            signalsUrl: 'https://infra.example/api/signals/store',
          }),
        ),
      );
      assert.equal(pairs.Model, 'training run run_9 (sha256 8737fb4f4c9e…)');
      assert.equal(pairs.Resources, 'RTX4090 or A100 (x2), 8 CPU, 32 GB memory, image ghcr.io/acme/signal:1');
      assert.equal(pairs.Provider, 'runpod (pod-abc), template runpod-signal-http');
      assert.equal(pairs.Signals, 'https://infra.example/api/signals/store');
      assert.match(Object.fromEntries(detailPairs(deployment())).Signals, /^the marketplace's own signal store/);
    });
  });

  /** DeployArgs for tests that make no request. */
  function deployArgsOffline(overrides: Partial<DeployArgs> = {}): DeployArgs {
    return { apiUrl: 'http://127.0.0.1:9/graphql', json: false, verbose: false, color: false, showToken: false, wait: false, ...overrides };
  }

  describe('mp deploy', () => {
    it('sends the input with a fresh idempotency key and prints id, status, health and endpoint, but not the token', async () => {
      api = await fakeApi(() => created());
      await deploy(deployArgs(), io(), { cwd: project });
      await deploy(deployArgs({ name: 'second' }), io(), { cwd: project });
      const [first, second] = api.seen;
      assert.equal(first.operationName, 'DeployCreate');
      assert.equal(first.authorization, `Bearer ${KEY}`);
      assert.deepEqual(first.variables.input, { name: 'momentum-ridge' });
      assert.deepEqual(second.variables.input, { name: 'second' });
      assert.match(String(first.variables.idempotencyKey), /^[0-9a-f-]{36}$/);
      assert.notEqual(first.variables.idempotencyKey, second.variables.idempotencyKey, 'one key per invocation');
      assert.match(
        stdout.text,
        /^✓ Created deployment dep_1 "momentum-ridge" on local\nID:\s+dep_1\nStatus:\s+PENDING\nHealth:\s+UNKNOWN\nEndpoint:\s+- \(assigned once it starts\)\n/,
      );
      assert.doesNotMatch(stdout.text + stderr.text, /sit_c{12}_d/);
      assert.match(stderr.text, /the token is in the deployment's environment; --show-token prints it, `mp deploy token rotate` makes a new one/);
      assert.match(stderr.text, /mp deploy status dep_1 --watch/);
    });

    it('--json prints the deployment with id, status, health and endpointUrl, and the token only with --show-token', async () => {
      api = await fakeApi(() => created());
      await deploy(deployArgs({ idempotencyKey: 'nightly-7' }, true), io(), { cwd: project });
      const plain = JSON.parse(stdout.text) as Record<string, unknown>;
      assert.deepEqual([plain.id, plain.status, plain.health, plain.endpointUrl], ['dep_1', 'PENDING', 'UNKNOWN', null]);
      assert.equal('token' in plain, false);
      assert.equal(api.seen[0].variables.idempotencyKey, 'nightly-7');
      stdout.text = '';
      await deploy(deployArgs({ showToken: true }, true), io(), { cwd: project });
      assert.equal((JSON.parse(stdout.text) as { token: string }).token, TOKEN);
      assert.match(stderr.text, /shown only once/);
    });

    it('prints the token with --show-token, and says so when a repeated idempotency key brings no token', async () => {
      api = await fakeApi(() => created());
      await deploy(deployArgs({ showToken: true }), io(), { cwd: project });
      assert.match(stdout.text, new RegExp(`Token:\\s+${TOKEN}\\n`));
      await api.close();
      stdout.text = '';
      stderr.text = '';
      api = await fakeApi(() => created(null));
      await deploy(deployArgs({ showToken: true, idempotencyKey: 'k1' }, true), io(), { cwd: project });
      assert.equal((JSON.parse(stdout.text) as { token: unknown }).token, null);
      assert.match(stderr.text, /repeats an earlier `mp deploy` with the same --idempotency-key.*mp deploy token rotate dep_1 --show-token/);
    });

    it('retries once after a network error with the same idempotency key', async () => {
      let attempts = 0;
      const keys: unknown[] = [];
      const server = http.createServer((req, res) => {
        let raw = '';
        req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
        req.on('end', () => {
          attempts += 1;
          keys.push((JSON.parse(raw) as { variables: { idempotencyKey: unknown } }).variables.idempotencyKey);
          if (attempts === 1) {
            req.socket.destroy();
            return;
          }
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(created()));
        });
      });
      const url = `${await listenLocally(server)}/graphql`;
      try {
        await deploy({ ...deployArgsOffline(), apiUrl: url }, io(), { cwd: project, retryDelayMs: 10 });
        assert.equal(attempts, 2);
        assert.equal(keys[0], keys[1]);
        assert.match(stderr.text, /retrying once with the same idempotency key/);
        assert.match(stdout.text, /Created deployment dep_1/);
      } finally {
        await closeServer(server);
      }
    });

    it('maps refusals: BAD_USER_INPUT and CONFLICT are exit 5 (with the fields), a missing key exit 3, a path outside a project exit 2, all before anything else', async () => {
      api = await fakeApi(() => ({
        data: null,
        errors: [
          {
            message: 'image: a RUNPOD deployment needs a container image (--image); gpuCount: must be an integer from 1 to 8',
            extensions: {
              code: 'BAD_USER_INPUT',
              fields: [
                { field: 'image', message: 'a RUNPOD deployment needs a container image (--image)' },
                { field: 'gpuCount', message: 'must be an integer from 1 to 8' },
              ],
            },
          },
        ],
      }));
      const invalid = await expectCliError(deploy(deployArgs({ provider: 'runpod' }), io(), { cwd: project }), ExitCode.INVALID);
      assert.deepEqual(invalid.details, ['image: a RUNPOD deployment needs a container image (--image)', 'gpuCount: must be an integer from 1 to 8']);
      assert.equal(api.seen.length, 1, 'an answer is not retried');
      await api.close();
      api = await fakeApi(() => ({
        data: null,
        errors: [
          { message: 'you already have a deployment named "momentum-ridge" (dep_0, RUNNING): stop it or pick another name', extensions: { code: 'CONFLICT' } },
        ],
      }));
      const conflict = await expectCliError(deploy(deployArgs(), io(), { cwd: project }), ExitCode.INVALID);
      assert.match(conflict.message, /already have a deployment named "momentum-ridge"/);
      await expectCliError(deploy(deployArgs(), io({}), { cwd: project }), ExitCode.AUTH);
      await expectCliError(deploy(deployArgs(), io(), { cwd: home }), ExitCode.USAGE);
      assert.equal(api.seen.length, 1);
    });

    it('exits 6 when the API cannot be reached', async () => {
      api = await fakeApi(() => ({}));
      const url = api.url;
      await api.close();
      api = undefined;
      const error = await expectCliError(deploy({ ...deployArgsOffline(), apiUrl: url }, io(), { cwd: project, retryDelayMs: 1 }), ExitCode.UNREACHABLE);
      assert.match(error.message, /cannot reach .*connection refused/);
    });

    it('--wait follows deploymentHealth until RUNNING and HEALTHY, then prints the endpoint', async () => {
      api = await fakeApi(
        (op) => (op === 'DeployCreate' ? created() : stateOf(HISTORY.slice(0, 1))),
        () => events(HISTORY.slice(1).map((change) => event(change))),
      );
      await deploy(deployArgs({ wait: true }), io(), { cwd: project, ...FAST });
      assert.equal(api.calls[0].id, 'dep_1');
      assert.equal(api.calls[0].authorization, `Bearer ${KEY}`);
      assert.match(
        stdout.text,
        /^✓ Deployment dep_1 "momentum-ridge" on local is RUNNING and HEALTHY\nID:\s+dep_1\nStatus:\s+RUNNING\nHealth:\s+HEALTHY\nEndpoint:\s+http:\/\/127\.0\.0\.1:43211\n$/,
      );
      assert.match(stderr.text, /✓ Created deployment dep_1 "momentum-ridge" on local \(PENDING\)/);
      assert.match(stderr.text, /Ctrl-C stops waiting, not the deployment/);
      // Not a terminal: one plain line per change, in order.
      const lines = stderr.text.split('\n').filter((line) => line.startsWith('dep_1 '));
      assert.deepEqual(lines, [
        'dep_1 PENDING, health UNKNOWN: created by the vendor',
        'dep_1 PROVISIONING, health UNKNOWN: handed to LOCAL',
        'dep_1 STARTING, health UNKNOWN: started: waiting for its first READY heartbeat',
        'dep_1 RUNNING, health HEALTHY: the endpoint reported READY',
      ]);
    });

    it('--wait ends at once when the history read on connecting is RUNNING and HEALTHY already, and not on a superseded one', async () => {
      api = await fakeApi(
        (op) => (op === 'DeployCreate' ? created() : stateOf(HISTORY)),
        () => forever(),
      );
      const started = Date.now();
      await deploy(deployArgs({ wait: true }, true), io(), { cwd: project, ...FAST });
      assert.ok(Date.now() - started < 3000);
      assert.equal((JSON.parse(stdout.text) as { status: string }).status, 'RUNNING');
      await api.close();

      stdout.text = '';
      const sick = { at: at(40), status: 'RUNNING', health: 'UNHEALTHY', reason: 'no heartbeat for 30 s (3 intervals of 10 s)' };
      const back = { at: at(41), status: 'RUNNING', health: 'HEALTHY', reason: 'heartbeat: the endpoint reports READY' };
      api = await fakeApi(
        (op) => (op === 'DeployCreate' ? created() : stateOf([...HISTORY, sick])),
        () => events([event(back)], 300),
      );
      await deploy(deployArgs({ wait: true }), io(), { cwd: project, ...FAST });
      assert.match(stderr.text, /dep_1 RUNNING, health UNHEALTHY: no heartbeat/);
      assert.match(stderr.text, /dep_1 RUNNING, health HEALTHY: heartbeat: the endpoint reports READY/);
    });

    it('--wait exits 7 with the reason when the deployment FAILS, printing it (and the JSON) anyway', async () => {
      const failed = { at: at(2), status: 'FAILED', health: 'UNKNOWN', reason: 'the provider failed: no RTX4090 available' };
      api = await fakeApi(
        (op) => (op === 'DeployCreate' ? created() : stateOf(HISTORY.slice(0, 1))),
        () => events([event(HISTORY[1]), event(failed)]),
      );
      const error = await expectCliError(deploy(deployArgs({ wait: true, showToken: true }, true), io(), { cwd: project, ...FAST }), ExitCode.JOB_FAILED);
      assert.equal(error.message, 'deployment dep_1 FAILED: the provider failed: no RTX4090 available');
      assert.match(error.hint ?? '', /mp deploy status dep_1/);
      const printed = JSON.parse(stdout.text) as { status: string; token: string };
      assert.equal(printed.status, 'FAILED');
      assert.equal(printed.token, TOKEN);
    });

    it('--wait exits 6 after the retry limit, still printing the deployment and its token', async () => {
      api = await fakeApi(
        (op) => (op === 'DeployCreate' ? created() : stateOf(HISTORY.slice(0, 1))),
        async function* (call) {
          await sleep(20);
          call.socket.terminate();
          yield* [];
        },
      );
      const error = await expectCliError(deploy(deployArgs({ wait: true, showToken: true }, true), io(), { cwd: project, ...FAST }), ExitCode.UNREACHABLE);
      assert.match(error.message, /lost the health stream of deployment dep_1/);
      assert.equal((JSON.parse(stdout.text) as { token: string }).token, TOKEN);
    });

    it('--wait catches up from the history after a dropped connection', async () => {
      let history = HISTORY.slice(0, 2);
      api = await fakeApi(
        (op) => (op === 'DeployCreate' ? created() : stateOf(history)),
        async function* (call) {
          if (call.index === 1) {
            await sleep(50);
            history = HISTORY;
            call.socket.terminate();
            return;
          }
          yield* forever();
        },
      );
      await deploy(deployArgs({ wait: true }), io(), { cwd: project, ...FAST });
      assert.equal(api.calls.length, 2);
      assert.match(stderr.text, /reconnecting in .* \(attempt 1 of 3\)/);
      assert.match(stdout.text, /is RUNNING and HEALTHY/);
    });

    it('--wait stops waiting with exit 130 on Ctrl-C, and with exit 7 after --wait-timeout; the deployment is left alone', async () => {
      api = await fakeApi(
        (op) => (op === 'DeployCreate' ? created() : stateOf(HISTORY.slice(0, 3))),
        () => forever(),
      );
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 200);
      const interrupted = await expectCliError(
        deploy(deployArgs({ wait: true, showToken: true }), io(), { cwd: project, ...FAST, signal: controller.signal }),
        ExitCode.INTERRUPTED,
      );
      assert.match(interrupted.message, /stopped waiting for deployment dep_1 \(STARTING, health UNKNOWN\); the deployment itself keeps going/);
      assert.match(interrupted.hint ?? '', /mp deploy status dep_1 --watch.*mp deploy stop dep_1/);
      assert.match(stdout.text, new RegExp(`Token:\\s+${TOKEN}`), 'the token, shown once, is not lost');
      const timedOut = await expectCliError(deploy(deployArgs({ wait: true, waitTimeout: 1 }), io(), { cwd: project, ...FAST }), ExitCode.JOB_FAILED);
      assert.match(timedOut.message, /^deployment dep_1 is not RUNNING and HEALTHY after 1s \(STARTING, health UNKNOWN: started: waiting/);
      assert.equal(api.seen.filter((request) => request.operationName === 'DeployStop').length, 0);
    });
  });

  describe('mp deploy list', () => {
    it('lists deployments as a table, following pages and passing --status on', async () => {
      api = await fakeApi((_op, vars) => {
        const cursor = vars.after as string | null;
        const node = cursor ? deployment({ id: 'dep_2', name: 'second' }) : after(HISTORY[3], { lastHeartbeatAt: new Date().toISOString() });
        return { data: { deployments: { totalCount: 3, pageInfo: { hasNextPage: true, endCursor: cursor ? 'c2' : 'c1' }, nodes: [node] } } };
      });
      await deployList({ ...globals(), status: ['RUNNING', 'PENDING'], limit: 2 }, io());
      assert.deepEqual(
        api.seen.map((request) => request.variables),
        [
          { filter: { status: ['RUNNING', 'PENDING'] }, first: 2, after: null },
          { filter: { status: ['RUNNING', 'PENDING'] }, first: 1, after: 'c1' },
        ],
      );
      const lines = stdout.text.trimEnd().split('\n');
      assert.match(lines[0], /^ID\s+NAME\s+STATUS\s+HEALTH\s+LAST HEARTBEAT\s+ENDPOINT$/);
      assert.match(lines[1], /^dep_1\s+momentum-ridge\s+running\s+healthy\s+(<1s|\ds) ago\s+http:\/\/127\.0\.0\.1:43211$/);
      assert.match(lines[2], /^dep_2\s+second\s+pending\s+unknown\s+-\s+-$/);
      assert.match(stderr.text, /Showing 2 of 3 deployments/);
    });

    it('says so on stderr when there are none, and prints [] with --json', async () => {
      api = await fakeApi(() => ({ data: { deployments: { totalCount: 0, pageInfo: { hasNextPage: false, endCursor: null }, nodes: [] } } }));
      await deployList(globals(), io());
      assert.equal(stdout.text, '');
      assert.match(stderr.text, /No deployments yet/);
      await deployList(globals(true), io());
      assert.deepEqual(JSON.parse(stdout.text), []);
    });
  });

  describe('mp deploy status', () => {
    const detail = () => {
      const state = stateOf(HISTORY, {
        lastHeartbeatAt: new Date(Date.now() - 4000).toISOString(),
        lastHeartbeat: { at: at(3), status: 'READY', latencyMs: 3.5, version: 'built-in' },
      });
      state.data.deployment.logs = [`${at(2)} stdout listening on http://127.0.0.1:43211`, `${at(3)} stderr \u001b[31mwarn\u001b[0m slow start`];
      return state;
    };

    it('shows status, health, actions, endpoint, last heartbeat with its age, signals, model, resources, history and log lines', async () => {
      api = await fakeApi(() => detail());
      await deployStatus({ ...globals(), deployment_id: ' dep_1 ', watch: false }, io());
      assert.deepEqual(api.seen[0].variables, { id: 'dep_1', logLines: 10 });
      const text = stdout.text;
      assert.match(text, /^dep_1\n/);
      assert.match(text, /Name:\s+momentum-ridge\n/);
      assert.match(text, /Status:\s+RUNNING\n/);
      assert.match(text, /Health:\s+HEALTHY\n/);
      assert.match(text, /Actions:\s+stop, rotate token, link infra\n/);
      assert.match(text, /Endpoint:\s+http:\/\/127\.0\.0\.1:43211\n/);
      assert.match(text, /Last heartbeat:\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(4s ago\): READY, 3\.5 ms, version built-in\n/);
      assert.match(text, /Heartbeats:\s+every 10s\n/);
      assert.match(text, /Signals:\s+the marketplace's own signal store/);
      assert.match(text, /Model:\s+the template's built-in model\n/);
      assert.match(text, /Provider:\s+local \(local-4242\), template runpod-signal-http\n/);
      assert.match(text, /Resources:\s+no GPU, 2 CPU, 4 GB memory\n/);
      assert.match(text, /Token:\s+sit_c{12}_…\n/);
      assert.match(text, /History\nAT\s+STATUS\s+HEALTH\s+REASON\n2026-11-25 17:00:00 UTC\s+PENDING\s+UNKNOWN\s+created by the vendor\n/);
      assert.match(text, /2026-11-25 17:00:03 UTC\s+RUNNING\s+HEALTHY\s+the endpoint reported READY\n/);
      assert.match(text, /Last 2 log lines\n.*listening on http:\/\/127\.0\.0\.1:43211\n/);
      assert.match(stderr.text, /mp deploy status dep_1 --watch; stop it: mp deploy stop dep_1/);
    });

    it('--json prints the whole deployment; an unknown id is exit 4 with the list hint', async () => {
      api = await fakeApi((_op, vars) => (vars.id === 'dep_1' ? detail() : notFound));
      await deployStatus({ ...globals(true), deployment_id: 'dep_1', watch: false }, io());
      const printed = JSON.parse(stdout.text) as { id: string; status: string; health: string; endpointUrl: string; history: unknown[]; logs: string[] };
      assert.deepEqual([printed.id, printed.status, printed.health, printed.endpointUrl], ['dep_1', 'RUNNING', 'HEALTHY', ENDPOINT]);
      assert.equal(printed.history.length, 4);
      assert.equal(printed.logs.length, 2);
      const error = await expectCliError(deployStatus({ ...globals(), deployment_id: 'dep_nope', watch: false }, io()), ExitCode.NOT_FOUND);
      assert.match(error.message, /no deployment dep_nope/);
    });

    it('--watch prints each change after the details, and ends with exit 0 when it stops', async () => {
      const sick = { at: at(40), status: 'RUNNING', health: 'UNHEALTHY', reason: 'no heartbeat for 30 s (3 intervals of 10 s)' };
      const stopping = { at: at(50), status: 'STOPPING', health: 'UNHEALTHY', reason: 'stopped by the vendor' };
      const stopped = { at: at(51), status: 'STOPPED', health: 'UNKNOWN', reason: 'stopped by the vendor' };
      api = await fakeApi(
        () => detail(),
        () => events([event(HISTORY[3]), event(sick), event(stopping), event(stopped)]),
      );
      await deployStatus({ ...globals(), deployment_id: 'dep_1', watch: true }, io(), FAST);
      const changes = stdout.text.split('\n').filter((line) => /^2026-11-25 17:00:(40|50|51) UTC/.test(line));
      assert.deepEqual(changes, [
        '2026-11-25 17:00:40 UTC  RUNNING       UNHEALTHY  no heartbeat for 30 s (3 intervals of 10 s)',
        '2026-11-25 17:00:50 UTC  STOPPING      UNHEALTHY  stopped by the vendor',
        '2026-11-25 17:00:51 UTC  STOPPED       UNKNOWN    stopped by the vendor',
      ]);
      assert.equal(stdout.text.match(/the endpoint reported READY/g)?.length, 1, 'a change shown in the history is not printed again');
      assert.match(stderr.text, /Watching deployment dep_1; Ctrl-C stops watching, not the deployment/);
      assert.match(stderr.text, /✓ deployment dep_1 STOPPED/);
    });

    it('--watch --json prints one JSON object per change, starting with the current state; FAILED is exit 7', async () => {
      const failed = { at: at(60), status: 'FAILED', health: 'UNKNOWN', reason: 'exited with code 1' };
      api = await fakeApi(
        () => detail(),
        () => events([event(failed)]),
      );
      const error = await expectCliError(deployStatus({ ...globals(true), deployment_id: 'dep_1', watch: true }, io(), FAST), ExitCode.JOB_FAILED);
      assert.equal(error.message, 'deployment dep_1 FAILED: exited with code 1');
      const lines = stdout.text
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as { id: string; status: string; health: string; endpointUrl: string | null; reason: string });
      assert.deepEqual(
        lines.map((line) => [line.id, line.status, line.health, line.endpointUrl]),
        [
          ['dep_1', 'RUNNING', 'HEALTHY', ENDPOINT],
          ['dep_1', 'FAILED', 'UNKNOWN', ENDPOINT],
        ],
      );
    });

    it('--watch stops on Ctrl-C with exit 130, and on an ended deployment at once', async () => {
      api = await fakeApi(
        () => detail(),
        () => forever(),
      );
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 200);
      const error = await expectCliError(
        deployStatus({ ...globals(), deployment_id: 'dep_1', watch: true }, io(), { ...FAST, signal: controller.signal }),
        ExitCode.INTERRUPTED,
      );
      assert.match(error.message, /stopped watching deployment dep_1 \(RUNNING, health HEALTHY\); the deployment itself keeps going/);
      await api.close();
      const stopped = { at: at(9), status: 'STOPPED', health: 'UNKNOWN', reason: 'stopped by the vendor' };
      api = await fakeApi(() => stateOf([...HISTORY, stopped]));
      stderr.text = '';
      await deployStatus({ ...globals(), deployment_id: 'dep_1', watch: true }, io(), FAST);
      assert.equal(api.calls.length, 0, 'nothing to follow');
      assert.match(stderr.text, /✓ deployment dep_1 STOPPED/);
    });

    it('--watch gives up with exit 6 after the retry limit, saying the deployment keeps going', async () => {
      api = await fakeApi(
        () => detail(),
        async function* (call) {
          await sleep(20);
          call.socket.terminate();
          yield* [];
        },
      );
      const error = await expectCliError(deployStatus({ ...globals(), deployment_id: 'dep_1', watch: true }, io(), FAST), ExitCode.UNREACHABLE);
      assert.match(error.message, /^lost the health stream of deployment dep_1 .* after 3 attempts$/);
      assert.match(error.hint ?? '', /keeps going; see it with `mp deploy status dep_1`/);
      assert.equal(api.calls.length, 4, 'the first subscription and 3 attempts');
    });

    it('--watch maps a refused subscription (NOT_FOUND) to exit 4 without retrying', async () => {
      api = await fakeApi(
        () => detail(),
        () => {
          throw new GraphQLError('no deployment dep_1 among yours (see mp deploy list)', { extensions: { code: 'NOT_FOUND' } });
        },
      );
      await expectCliError(deployStatus({ ...globals(), deployment_id: 'dep_1', watch: true }, io(), FAST), ExitCode.NOT_FOUND);
      assert.equal(api.calls.length, 1);
    });
  });

  describe('mp deploy stop and token rotate', () => {
    it('stops a deployment, and exits 5 for one that has stopped already and 4 for an unknown one', async () => {
      api = await fakeApi((_op, vars) => {
        if (vars.id === 'dep_nope') return notFound;
        if (vars.id === 'dep_old')
          return { data: null, errors: [{ message: 'deployment dep_old is STOPPED: STOP is not possible now', extensions: { code: 'PRECONDITION_FAILED' } }] };
        return { data: { stopDeployment: after({ at: at(9), status: 'STOPPED', health: 'UNKNOWN', reason: 'stopped by the vendor' }) } };
      });
      await deployStop({ ...globals(), deployment_id: 'dep_1' }, io());
      assert.equal(api.seen[0].operationName, 'DeployStop');
      assert.match(stdout.text, /^✓ Stopped deployment dep_1 "momentum-ridge" \(STOPPED\); its token no longer works\n$/);
      const stale = await expectCliError(deployStop({ ...globals(), deployment_id: 'dep_old' }, io()), ExitCode.INVALID);
      assert.equal(stale.message, 'deployment dep_old is STOPPED: STOP is not possible now');
      await expectCliError(deployStop({ ...globals(), deployment_id: 'dep_nope' }, io()), ExitCode.NOT_FOUND);
      stdout.text = '';
      await deployStop({ ...globals(true), deployment_id: 'dep_1' }, io());
      assert.equal((JSON.parse(stdout.text) as { status: string }).status, 'STOPPED');
    });

    it('rotates the token: printed only with --show-token, then alone on stdout', async () => {
      const fresh = `sit_${'e'.repeat(12)}_${'f'.repeat(38)}`;
      api = await fakeApi(() => ({
        data: { rotateDeploymentToken: { token: fresh, deployment: after(HISTORY[3], { tokenPrefix: `sit_${'e'.repeat(12)}_…` }) } },
      }));
      await tokenRotate({ ...globals(), deployment_id: 'dep_1' }, io());
      assert.match(stdout.text, /^✓ Rotated the token of deployment dep_1: the old one stopped working; the new one \(sit_e{12}_…\) is in its environment\n$/);
      assert.doesNotMatch(stdout.text + stderr.text, new RegExp(fresh));
      assert.match(stderr.text, /--show-token prints it/);
      stdout.text = '';
      await tokenRotate({ ...globals(), deployment_id: 'dep_1', showToken: true }, io());
      assert.equal(stdout.text, `${fresh}\n`);
      stdout.text = '';
      await tokenRotate({ ...globals(true), deployment_id: 'dep_1' }, io());
      const hidden = JSON.parse(stdout.text) as Record<string, unknown>;
      assert.deepEqual([hidden.id, hidden.status, hidden.health, hidden.endpointUrl, 'token' in hidden], ['dep_1', 'RUNNING', 'HEALTHY', ENDPOINT, false]);
      stdout.text = '';
      await tokenRotate({ ...globals(true), deployment_id: 'dep_1', showToken: true }, io());
      assert.equal((JSON.parse(stdout.text) as { token: string }).token, fresh);
    });
  });

  describe('mp link-infra', () => {
    it("links to a signals URL, or without one to the marketplace's own signal store, saying so", async () => {
      // As the server does: no URL links the deployment to the server's own store.
      const ownStore = 'http://127.0.0.1:4000/api/signals/store';
      api = await fakeApi((_op, vars) => ({ data: { linkDeployment: after(HISTORY[3], { signalsUrl: (vars.signalsUrl as string | null) ?? ownStore }) } }));
      await linkInfra({ ...globals(), deployment: 'dep_1', signalsUrl: 'https://infra.example/api/signals/store' }, io());
      assert.deepEqual(api.seen[0].variables, { id: 'dep_1', signalsUrl: 'https://infra.example/api/signals/store' });
      assert.match(stdout.text, /✓ Linked deployment dep_1: its signals go to https:\/\/infra\.example\/api\/signals\/store/);
      stdout.text = '';
      await linkInfra({ ...globals(), deployment: 'dep_1' }, io());
      assert.deepEqual(api.seen[1].variables, { id: 'dep_1', signalsUrl: null });
      assert.match(
        stdout.text,
        /✓ Linked deployment dep_1 to the marketplace's own signal store, http:\/\/127\.0\.0\.1:4000\/api\/signals\/store \(no --signals-url given\)/,
      );
      stdout.text = '';
      await linkInfra({ ...globals(true), deployment: 'dep_1' }, io());
      const printed = JSON.parse(stdout.text) as Record<string, unknown>;
      assert.deepEqual(
        [printed.id, printed.status, printed.health, printed.endpointUrl, printed.signalsUrl],
        ['dep_1', 'RUNNING', 'HEALTHY', ENDPOINT, ownStore],
      );
    });

    it("exits 5 with the server's message naming the field for a bad URL", async () => {
      api = await fakeApi(() => ({
        data: null,
        errors: [
          {
            message: 'signalsUrl: must be an http(s) URL',
            extensions: { code: 'BAD_USER_INPUT', fields: [{ field: 'signalsUrl', message: 'must be an http(s) URL' }] },
          },
        ],
      }));
      const error = await expectCliError(linkInfra({ ...globals(), deployment: 'dep_1', signalsUrl: 'ftp://x' }, io()), ExitCode.INVALID);
      assert.equal(error.message, 'signalsUrl: must be an http(s) URL');
    });
  });

  describe('mp heartbeat', () => {
    const receipt = (signalsUrl: string | null = null) => ({
      data: { sendHeartbeat: { deploymentId: 'dep_1', health: 'HEALTHY', nextDueAt: new Date(Date.now() + 10_000).toISOString(), signalsUrl } },
    });

    it('sends with MP_DEPLOYMENT_TOKEN, never the API key, and prints the health and when the next is due', async () => {
      api = await fakeApi(() => receipt('https://infra.example/api/signals/store'));
      await heartbeat(
        { ...globals(), deployment: 'dep_1', status: 'ready', latencyMs: 3.5, version: 'v3' },
        io({ MP_API_KEY: KEY, MP_DEPLOYMENT_TOKEN: TOKEN }),
      );
      assert.equal(api.seen[0].operationName, 'DeployHeartbeat');
      assert.equal(api.seen[0].authorization, `Bearer ${TOKEN}`);
      assert.deepEqual(api.seen[0].variables, { input: { status: 'READY', latencyMs: 3.5, version: 'v3' } });
      assert.match(
        stdout.text,
        /^✓ Heartbeat READY sent for deployment dep_1: health HEALTHY\nNext due:\s+.* UTC \(in (9|10)s\)\nSignals:\s+https:\/\/infra\.example\/api\/signals\/store\n$/,
      );
    });

    it('--json prints the receipt with the id; the deployment comes from MP_DEPLOYMENT_ID when --deployment is not given', async () => {
      api = await fakeApi(() => receipt());
      await heartbeat({ ...globals(true), status: 'busy' }, io({ MP_DEPLOYMENT_TOKEN: TOKEN, MP_DEPLOYMENT_ID: 'dep_1' }));
      const printed = JSON.parse(stdout.text) as Record<string, unknown>;
      assert.deepEqual([printed.id, printed.health, printed.signalsUrl], ['dep_1', 'HEALTHY', null]);
      assert.deepEqual(printed.sent, { status: 'BUSY' });
      assert.match(String(printed.nextDueAt), /^\d{4}-/);
    });

    it('exits 3 before any request without a deployment token, or with an API key in its place; 2 without a deployment', async () => {
      api = await fakeApi(() => receipt());
      const unset = await expectCliError(heartbeat({ ...globals(), deployment: 'dep_1', status: 'ready' }, io({ MP_API_KEY: KEY })), ExitCode.AUTH);
      assert.match(unset.message, /^MP_DEPLOYMENT_TOKEN is not set/);
      assert.match(unset.message, /never with your API key/);
      const key = await expectCliError(heartbeat({ ...globals(), deployment: 'dep_1', status: 'ready' }, io({ MP_DEPLOYMENT_TOKEN: KEY })), ExitCode.AUTH);
      assert.match(key.message, /holds an API key \(vk_\.\.\.\), not a deployment token/);
      await expectCliError(heartbeat({ ...globals(), status: 'ready' }, io({ MP_DEPLOYMENT_TOKEN: TOKEN })), ExitCode.USAGE);
      assert.equal(api.seen.length, 0);
    });

    it('exits 3 with a hint for a refused token, and 5 when the token is another deployment’s', async () => {
      api = await fakeApi(() => ({
        data: null,
        errors: [
          {
            message: 'deployment token revoked at 2026-11-25T17:10:00.000Z: the deployment was stopped or its token rotated',
            extensions: { code: 'UNAUTHENTICATED' },
          },
        ],
      }));
      const refused = await expectCliError(
        heartbeat({ ...globals(), deployment: 'dep_1', status: 'ready' }, io({ MP_DEPLOYMENT_TOKEN: TOKEN })),
        ExitCode.AUTH,
      );
      assert.match(refused.hint ?? '', /MP_DEPLOYMENT_TOKEN.*mp deploy token rotate dep_1 --show-token/);
      await api.close();
      api = await fakeApi(() => receipt());
      const other = await expectCliError(
        heartbeat({ ...globals(), deployment: 'dep_9', status: 'ready' }, io({ MP_DEPLOYMENT_TOKEN: TOKEN })),
        ExitCode.INVALID,
      );
      assert.match(other.message, /belongs to deployment dep_1, not dep_9/);
    });
  });
});
