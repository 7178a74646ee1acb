import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import WebSocket, { WebSocketServer } from 'ws';
import { run as trainLogs } from '../../cli/commands/train/logs';
import { run as trainStart } from '../../cli/commands/train/start';
import { run as trainStatus } from '../../cli/commands/train/status';
import { run as trainStop } from '../../cli/commands/train/stop';
import { failureMessage, runColumns, sanitizeForTerminal } from '../../cli/commands/train/run-display';
import { formatLogLine } from '../../cli/commands/train/follow';
import type { RetryPolicy } from '../../cli/commands/train/follow';
import { formatSeconds } from '../../cli/duration';
import { ExitCode } from '../../cli/errors';
import type { GlobalArgs } from '../../cli/global-options';
import type { Io, TextOutput } from '../../cli/io';
import { formatUsd } from '../../cli/money';
import { renderTable, painter } from '../../cli/output';
import { websocketUrl } from '../../cli/subscribe';
import type { TrainLogsFollowSubscription } from '../../generated/cli-operations';
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

/** One event of the trainingLogs subscription, as the CLI selects it. */
type LogEvent = TrainLogsFollowSubscription['trainingLogs'];

interface SubscribeCall {
  runId: string;
  afterSeq: number;
  authorization: unknown;
  socket: WebSocket;
  /** 1 for the first subscription of the test, 2 for the next... */
  index: number;
}
type Subscriber = (call: SubscribeCall) => AsyncIterable<LogEvent>;

/**
 * A stand-in marketplace API on port 0: HTTP POST /graphql answered by `respond`, and
 * graphql-ws on the same path whose trainingLogs subscription is `subscribe`.
 */
async function fakeApi(respond: GraphqlResponder, subscribe?: Subscriber, onConnect?: (socket: WebSocket) => boolean) {
  const seen: SeenGraphqlRequest[] = [];
  const calls: Array<{ runId: string; afterSeq: number; authorization: unknown }> = [];
  const server = http.createServer(graphqlListener(seen, respond));
  const sockets = new WebSocketServer({ server, path: '/graphql' });
  const schema = fakeSchema({
    Subscription: {
      trainingLogs: {
        subscribe: (_parent: unknown, args: { runId: string; afterSeq: number }, context: { socket: WebSocket; authorization: unknown }) => {
          calls.push({ runId: args.runId, afterSeq: args.afterSeq, authorization: context.authorization });
          if (!subscribe) throw new GraphQLError('no subscriptions here');
          return subscribe({ ...args, authorization: context.authorization, socket: context.socket, index: calls.length });
        },
        resolve: (event: LogEvent) => event,
      },
    },
  });
  const disposable = useServer(
    {
      schema,
      onConnect: (ctx) => (onConnect ? onConnect(ctx.extra.socket) : true),
      context: (ctx) => ({ socket: ctx.extra.socket, authorization: ctx.connectionParams?.authorization }),
    },
    sockets,
  );
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
const AT = '2026-11-25T17:00:00.000Z';

function line(seq: number, text = `line ${seq}`): LogEvent {
  return { lines: [{ seq, at: AT, stream: 'stdout', line: text }], finalStatus: null };
}

function trainingRun(overrides: Record<string, unknown> = {}) {
  return {
    id: 'trn_1',
    status: 'SUCCEEDED',
    provider: 'LOCAL',
    providerJobId: 'pid-4242',
    queuedAt: '2026-11-25T17:00:00.000Z',
    startedAt: '2026-11-25T17:00:02.000Z',
    finishedAt: '2026-11-25T17:03:14.000Z',
    exitCode: 0,
    failureReason: null,
    costUsd: '0.0000',
    logLineCount: 12,
    spec: {
      task: 'SIGNAL',
      round: 1,
      template: 'runpod-signal-train',
      image: null,
      gpuType: 'CPU',
      provider: 'LOCAL',
      timeoutSeconds: 7200,
      maxBudgetUsd: '5.0000',
      hyperparameters: [{ name: 'epochs', value: 3 }],
    },
    metrics: [
      { name: 'loss', last: 0.41234, step: 3, min: 0.41234, max: 0.9, count: 3 },
      { name: 'val_corr', last: 0.0213, step: 3, min: 0.001, max: 0.0213, count: 3 },
    ],
    artifacts: [{ name: 'model.json', sizeBytes: 2345, sha256: 'ab'.repeat(32), downloadUrl: 'http://x/files/model.json?sig=1' }],
    history: [],
    ...overrides,
  };
}

async function* events(list: LogEvent[], delayMs = 0): AsyncGenerator<LogEvent> {
  for (const event of list) {
    if (delayMs) await sleep(delayMs);
    yield event;
  }
}

const FAST_RETRY: RetryPolicy = { maxAttempts: 3, delayMs: () => 20 };

describe('mp train commands', function () {
  this.timeout(20_000);
  let configHome: string;
  let api: Awaited<ReturnType<typeof fakeApi>> | undefined;
  let stdout: BufferedOutput;
  let stderr: BufferedOutput;

  beforeEach(() => {
    configHome = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-train-'));
    stdout = new BufferedOutput();
    stderr = new BufferedOutput();
  });
  afterEach(async () => {
    await api?.close();
    api = undefined;
    fs.rmSync(configHome, { recursive: true, force: true });
  });

  function io(env: NodeJS.ProcessEnv = { MP_API_KEY: KEY }): Io {
    return inProcessIo(stdout, stderr, { XDG_CONFIG_HOME: configHome, ...env });
  }

  function globals(json = false): GlobalArgs {
    assert.ok(api, 'start the fake API first');
    return { apiUrl: api.url, json, verbose: false, color: false };
  }

  const notFound = { data: null, errors: [{ message: 'no training run trn_nope', extensions: { code: 'NOT_FOUND' } }] };

  describe('formatting', () => {
    it('lists runs with id, status, task, round, gpu, provider, queued, duration, cost and the last val_corr and loss', () => {
      const rows = [
        trainingRun(),
        trainingRun({
          id: 'trn_2',
          status: 'RUNNING',
          finishedAt: null,
          metrics: [],
          costUsd: '0.42',
          spec: { ...trainingRun().spec, gpuType: 'A100' },
          provider: 'RUNPOD',
        }),
      ] as unknown as Parameters<ReturnType<typeof runColumns>[number]['value']>[0][];
      const columns = runColumns({ date: (iso) => iso.slice(0, 10), duration: formatSeconds, usd: formatUsd }, new Date('2026-11-25T17:10:02.000Z'));
      const table = renderTable(columns, rows, painter(false)).split('\n');
      assert.match(table[0], /^ID\s+STATUS\s+TASK\s+ROUND\s+GPU\s+PROVIDER\s+QUEUED\s+DURATION\s+COST\s+VAL_CORR\s+LOSS$/);
      assert.match(table[1], /^trn_1\s+succeeded\s+signal\s+1\s+CPU\s+local\s+2026-11-25\s+3m 12s\s+\$0\.00\s+0\.0213\s+0\.4123$/);
      assert.match(table[2], /^trn_2\s+running\s+signal\s+1\s+A100\s+runpod\s+2026-11-25\s+10m\s+\$0\.42\s+-\s+-$/);
    });

    it('prints a log line as its text, or with --json as one JSON object, and cleans control sequences on a terminal', () => {
      const logLine = { seq: 7, at: AT, stream: 'stderr', line: '\u001b[31mred\u001b[0m \u0007bell' };
      assert.equal(formatLogLine(logLine, false, false), `${logLine.line}\n`);
      assert.equal(formatLogLine(logLine, false, true), 'red \ufffdbell\n');
      assert.deepEqual(JSON.parse(formatLogLine(logLine, true, true)), { seq: 7, at: AT, stream: 'stderr', line: logLine.line });
      assert.equal(sanitizeForTerminal('tab\tok'), 'tab\tok');
      assert.equal(sanitizeForTerminal('\u001b]0;title\u0007x'), 'x');
    });

    it('words a failure with the reason, else the exit code, else the status', () => {
      assert.equal(
        failureMessage({ id: 'trn_1', status: 'FAILED', failureReason: 'exit code 2: unknown hyperparameter', exitCode: 2 }),
        'run trn_1 FAILED: exit code 2: unknown hyperparameter',
      );
      assert.equal(failureMessage({ id: 'trn_1', status: 'FAILED', failureReason: null, exitCode: 137 }), 'run trn_1 FAILED: exit code 137');
      assert.equal(
        failureMessage({ id: 'trn_1', status: 'TIMED_OUT', failureReason: null, exitCode: null }),
        'run trn_1 TIMED_OUT: it ran longer than its timeout',
      );
    });

    it('derives the WebSocket URL from the API URL', () => {
      assert.equal(websocketUrl('http://127.0.0.1:4000/graphql'), 'ws://127.0.0.1:4000/graphql');
      assert.equal(websocketUrl('https://mp.example.com/graphql'), 'wss://mp.example.com/graphql');
    });
  });

  describe('mp train start', () => {
    it('sends the spec with a fresh idempotency key and prints the id, status and how to follow', async () => {
      api = await fakeApi(() => ({ data: { startTrainingRun: trainingRun({ status: 'QUEUED', startedAt: null, finishedAt: null, exitCode: null }) } }));
      await trainStart({ ...globals(), task: 'signal', round: 'current', hp: [{ name: 'epochs', value: 3 }], follow: false }, io());
      await trainStart({ ...globals(), task: 'signal', round: 'current', follow: false }, io());
      const [first, second] = api.seen;
      assert.equal(first.operationName, 'TrainStart');
      assert.equal(first.authorization, `Bearer ${KEY}`);
      assert.deepEqual(first.variables.spec, { task: 'SIGNAL', hyperparameters: [{ name: 'epochs', value: 3 }] });
      assert.match(String(first.variables.idempotencyKey), /^[0-9a-f-]{36}$/);
      assert.notEqual(first.variables.idempotencyKey, second.variables.idempotencyKey, 'one key per invocation');
      assert.match(
        stdout.text,
        /^✓ Started training run trn_1 \(QUEUED\): signal on round 1, CPU on local, template runpod-signal-train, timeout 2h, budget \$5\.00\n/,
      );
      assert.match(stderr.text, /mp train logs trn_1 -f/);
    });

    it('uses --idempotency-key, and prints the run as JSON with --json', async () => {
      api = await fakeApi(() => ({ data: { startTrainingRun: trainingRun({ status: 'QUEUED' }) } }));
      await trainStart({ ...globals(true), task: 'signal', round: 2, follow: false, idempotencyKey: 'nightly-42' }, io());
      assert.equal(api.seen[0].variables.idempotencyKey, 'nightly-42');
      assert.deepEqual((api.seen[0].variables.spec as { round: number }).round, 2);
      const printed = JSON.parse(stdout.text) as { id: string; status: string };
      assert.equal(printed.id, 'trn_1');
    });

    it('retries once after a network error with the same idempotency key', async () => {
      // The first request's connection is destroyed before any answer: a network error.
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
          res.end(JSON.stringify({ data: { startTrainingRun: trainingRun({ status: 'QUEUED' }) } }));
        });
      });
      const url = `${await listenLocally(server)}/graphql`;
      try {
        const args = { apiUrl: url, json: false, verbose: false, color: false, task: 'signal' as const, round: 'current' as const, follow: false };
        await trainStart(args, io(), { retryDelayMs: 10 });
        assert.equal(attempts, 2);
        assert.equal(keys[0], keys[1]);
        assert.match(stderr.text, /retrying once with the same idempotency key/);
        assert.match(stdout.text, /Started training run trn_1/);
      } finally {
        await closeServer(server);
      }
    });

    it('does not retry an answer from the server (BAD_USER_INPUT is exit 5 with the fields)', async () => {
      api = await fakeApi(() => ({
        data: null,
        errors: [
          {
            message: 'invalid training spec',
            extensions: { code: 'BAD_USER_INPUT', fields: [{ field: 'spec.hyperparameters.foo', message: 'unknown to template runpod-signal-train' }] },
          },
        ],
      }));
      const error = await expectCliError(trainStart({ ...globals(), task: 'signal', round: 'current', follow: false }, io()), ExitCode.INVALID);
      assert.deepEqual(error.details, ['spec.hyperparameters.foo: unknown to template runpod-signal-train']);
      assert.equal(api.seen.length, 1);
    });

    it('needs a key (exit 3) before any request', async () => {
      api = await fakeApi(() => ({}));
      await expectCliError(trainStart({ ...globals(), task: 'signal', round: 'current', follow: false }, io({})), ExitCode.AUTH);
      assert.equal(api.seen.length, 0);
    });

    it('--follow streams the log to stdout, status to stderr, and exits with the outcome', async () => {
      api = await fakeApi(
        (op) => (op === 'TrainStart' ? { data: { startTrainingRun: trainingRun({ status: 'QUEUED' }) } } : { data: { trainingRun: trainingRun() } }),
        () => events([line(1, 'epoch 1'), line(2, '{"mp":"metric","name":"loss","step":1,"value":0.5}'), { lines: [], finalStatus: 'SUCCEEDED' }]),
      );
      await trainStart({ ...globals(), task: 'signal', round: 'current', follow: true }, io(), { retry: FAST_RETRY });
      assert.equal(stdout.text, 'epoch 1\n{"mp":"metric","name":"loss","step":1,"value":0.5}\n');
      assert.match(stderr.text, /Started training run trn_1/);
      assert.match(stderr.text, /Ctrl-C stops following, not the run/);
      assert.match(stderr.text, /run trn_1 SUCCEEDED/);
      assert.equal(api.calls[0].afterSeq, 0);
      assert.equal(api.calls[0].authorization, `Bearer ${KEY}`);
    });
  });

  describe('mp train status', () => {
    it('lists my runs as a table, passing --status and --limit on, following pages', async () => {
      api = await fakeApi((_op, vars) => {
        const after = vars.after as string | null;
        const node = trainingRun({ id: after ? 'trn_2' : 'trn_1' });
        return { data: { trainingRuns: { totalCount: 3, pageInfo: { hasNextPage: true, endCursor: after ? 'c2' : 'c1' }, nodes: [node] } } };
      });
      await trainStatus({ ...globals(), status: ['RUNNING', 'QUEUED'], limit: 2 }, io());
      assert.deepEqual(
        api.seen.map((request) => request.variables),
        [
          { filter: { status: ['RUNNING', 'QUEUED'] }, first: 2, after: null },
          { filter: { status: ['RUNNING', 'QUEUED'] }, first: 1, after: 'c1' },
        ],
      );
      const lines = stdout.text.trimEnd().split('\n');
      assert.equal(lines.length, 3);
      assert.match(lines[1], /^trn_1\s+succeeded/);
      assert.match(lines[2], /^trn_2\s+succeeded/);
      assert.match(stderr.text, /Showing 2 of 3 runs/);
    });

    it('says so on stderr when there are no runs, and prints [] with --json', async () => {
      api = await fakeApi(() => ({ data: { trainingRuns: { totalCount: 0, pageInfo: { hasNextPage: false, endCursor: null }, nodes: [] } } }));
      await trainStatus(globals(), io());
      assert.equal(stdout.text, '');
      assert.match(stderr.text, /No training runs yet/);
      await trainStatus(globals(true), io());
      assert.deepEqual(JSON.parse(stdout.text), []);
    });

    it('shows one run: state, times, exit code, cost vs budget, provider job, metrics, artifacts and the logs hint', async () => {
      api = await fakeApi(() => ({ data: { trainingRun: trainingRun({ status: 'FAILED', exitCode: 2, failureReason: 'exit code 2: bad data' }) } }));
      await trainStatus({ ...globals(), run_id: 'trn_1' }, io());
      assert.deepEqual(api.seen[0].variables, { id: 'trn_1' });
      const text = stdout.text;
      assert.match(text, /^trn_1\n/);
      assert.match(text, /Status:\s+FAILED \(exit code 2\)/);
      assert.match(text, /Reason:\s+exit code 2: bad data/);
      assert.match(text, /Task:\s+signal, round 1/);
      assert.match(text, /Hyperparams:\s+epochs=3/);
      assert.match(text, /Provider:\s+local \(job pid-4242\)/);
      assert.match(text, /Started:\s+2026-11-25 17:00 UTC/);
      assert.match(text, /Duration:\s+3m 12s\n/);
      assert.match(text, /Cost:\s+\$0\.00 of \$5\.00 budget/);
      assert.match(text, /Metrics\nNAME\s+LAST\s+STEP\s+MIN\s+MAX\s+POINTS\nloss\s+0\.4123\s+3\s+0\.4123\s+0\.9\s+3\nval_corr\s+0\.0213/);
      assert.match(text, /Artifacts\nNAME\s+SIZE\s+SHA256\nmodel\.json\s+2\.3 kB\s+abababababab/);
      assert.match(stderr.text, /Logs: mp train logs trn_1;/);
    });

    it('exits 4 with a hint for an unknown run id', async () => {
      api = await fakeApi(() => notFound);
      const error = await expectCliError(trainStatus({ ...globals(), run_id: 'trn_nope' }, io()), ExitCode.NOT_FOUND);
      assert.equal(error.message, 'no training run trn_nope');
      assert.match(error.hint ?? '', /mp train status/);
    });

    it('refuses list filters together with a run id (exit 2)', async () => {
      api = await fakeApi(() => ({}));
      await expectCliError(trainStatus({ ...globals(), run_id: 'trn_1', limit: 5 }, io()), ExitCode.USAGE);
    });
  });

  describe('mp train stop', () => {
    it('stops a run', async () => {
      api = await fakeApi(() => ({ data: { stopTrainingRun: trainingRun({ status: 'CANCELLED' }) } }));
      await trainStop({ ...globals(), run_id: 'trn_1' }, io());
      assert.equal(api.seen[0].operationName, 'TrainStop');
      assert.match(stdout.text, /✓ Stopped training run trn_1 \(CANCELLED\)/);
    });

    it('exits 5 with the server message for a finished run (PRECONDITION_FAILED)', async () => {
      api = await fakeApi(() => ({ data: null, errors: [{ message: 'run trn_1 already finished (SUCCEEDED)', extensions: { code: 'PRECONDITION_FAILED' } }] }));
      const error = await expectCliError(trainStop({ ...globals(), run_id: 'trn_1' }, io()), ExitCode.INVALID);
      assert.equal(error.message, 'run trn_1 already finished (SUCCEEDED)');
    });

    it('exits 5 when the run finished on its own while the stop was on its way', async () => {
      api = await fakeApi(() => ({ data: { stopTrainingRun: trainingRun({ status: 'SUCCEEDED' }) } }));
      const error = await expectCliError(trainStop({ ...globals(), run_id: 'trn_1' }, io()), ExitCode.INVALID);
      assert.equal(error.message, 'run trn_1 finished (SUCCEEDED) before it could be stopped');
      assert.equal(stdout.text, '');
    });

    it('says a running run is stopping when the server answers before it ended', async () => {
      api = await fakeApi(() => ({ data: { stopTrainingRun: trainingRun({ status: 'RUNNING' }) } }));
      await trainStop({ ...globals(), run_id: 'trn_1' }, io());
      assert.match(stdout.text, /✓ Stopping training run trn_1 \(RUNNING\)/);
      assert.match(stderr.text, /mp train logs trn_1 -f/);
    });

    it('exits 4 for an unknown run', async () => {
      api = await fakeApi(() => notFound);
      await expectCliError(trainStop({ ...globals(), run_id: 'trn_nope' }, io()), ExitCode.NOT_FOUND);
    });
  });

  describe('mp train logs', () => {
    const brief = (overrides: Record<string, unknown> = {}) => ({
      data: { trainingRun: { id: 'trn_1', status: 'SUCCEEDED', exitCode: 0, failureReason: null, logLineCount: 5, ...overrides } },
    });

    it('prints the stored lines page by page, from --after', async () => {
      api = await fakeApi((op, vars) => {
        if (op === 'TrainRunBrief') return brief();
        const after = vars.after as number;
        const seqs = after === 1 ? [2, 3] : [4, 5];
        return { data: { trainingLogs: { lastSeq: seqs[1], hasMore: after === 1, lines: seqs.map((seq) => line(seq).lines[0]) } } };
      });
      await trainLogs({ ...globals(), run_id: 'trn_1', follow: false, after: 1 }, io());
      assert.equal(stdout.text, 'line 2\nline 3\nline 4\nline 5\n');
      assert.deepEqual(
        api.seen.slice(1).map((request) => request.variables),
        [
          { runId: 'trn_1', after: 1, first: 500 },
          { runId: 'trn_1', after: 3, first: 500 },
        ],
      );
    });

    it('--tail N starts at the last N lines; --json prints one object per line', async () => {
      api = await fakeApi((op, vars) => {
        if (op === 'TrainRunBrief') return brief({ status: 'RUNNING' });
        const after = vars.after as number;
        const lines = [4, 5].filter((seq) => seq > after).map((seq) => line(seq).lines[0]);
        return { data: { trainingLogs: { lastSeq: 5, hasMore: false, lines } } };
      });
      await trainLogs({ ...globals(true), run_id: 'trn_1', follow: false, tail: 2 }, io());
      assert.equal(api.seen[1].variables.after, 3);
      const printed = stdout.text
        .trimEnd()
        .split('\n')
        .map((text) => JSON.parse(text) as { seq: number; stream: string; line: string; at: string });
      assert.deepEqual(printed, [
        { seq: 4, at: AT, stream: 'stdout', line: 'line 4' },
        { seq: 5, at: AT, stream: 'stdout', line: 'line 5' },
      ]);
      assert.match(stderr.text, /is RUNNING; follow it live with: mp train logs trn_1 -f/);
    });

    it('exits 4 for an unknown run', async () => {
      api = await fakeApi(() => notFound);
      await expectCliError(trainLogs({ ...globals(), run_id: 'trn_nope', follow: false }, io()), ExitCode.NOT_FOUND);
    });

    it('-f replays then follows, each line once, and exits 0 on SUCCEEDED', async () => {
      api = await fakeApi(
        () => brief({ status: 'RUNNING', logLineCount: 2 }),
        () => events([line(1), line(2), line(3), { lines: line(4).lines, finalStatus: 'SUCCEEDED' }], 5),
      );
      await trainLogs({ ...globals(), run_id: 'trn_1', follow: true }, io(), { retry: FAST_RETRY });
      assert.equal(stdout.text, 'line 1\nline 2\nline 3\nline 4\n');
      assert.match(stderr.text, /✓ run trn_1 SUCCEEDED/);
    });

    it('-f reconnects after a dropped connection and resumes after the last line it printed', async () => {
      const printedAtResubscribe: number[] = [];
      api = await fakeApi(
        () => brief({ status: 'RUNNING', logLineCount: 0 }),
        async function* (call) {
          printedAtResubscribe.push(stdout.text.split('\n').length - 1);
          if (call.index === 1) {
            // Three lines, then the connection dies without a close frame.
            yield* events([line(1), line(2), line(3)]);
            await sleep(50);
            call.socket.terminate();
            return;
          }
          if (call.index === 2) {
            // A server that replays too much: the CLI must not print 3 again.
            yield* events([line(call.afterSeq), line(call.afterSeq + 1), line(call.afterSeq + 2)]);
            await sleep(50);
            call.socket.close(1001, 'going away');
            return;
          }
          for (let seq = call.afterSeq + 1; seq <= 8; seq++) yield line(seq);
          yield { lines: [], finalStatus: 'SUCCEEDED' };
        },
      );
      await trainLogs({ ...globals(), run_id: 'trn_1', follow: true }, io(), { retry: FAST_RETRY });
      assert.equal(stdout.text, [1, 2, 3, 4, 5, 6, 7, 8].map((seq) => `line ${seq}\n`).join(''));
      assert.deepEqual(
        api.calls.map((call) => call.afterSeq),
        [0, 3, 5],
      );
      assert.deepEqual(printedAtResubscribe, [0, 3, 5], 'afterSeq is the last seq printed');
      assert.match(stderr.text, /reconnecting in .* resuming after line 3/);
      assert.match(stderr.text, /Reconnected; resuming after line 3/);
    });

    it('-f exits 7 with "run <id> FAILED: <reason>" when the run fails', async () => {
      api = await fakeApi(
        (op) => (op === 'TrainRunBrief' ? brief({ status: 'FAILED', exitCode: 1, failureReason: 'exit code 1: training diverged in epoch 2' }) : {}),
        () => events([line(1), { lines: [], finalStatus: 'FAILED' }]),
      );
      const error = await expectCliError(trainLogs({ ...globals(), run_id: 'trn_1', follow: true }, io(), { retry: FAST_RETRY }), ExitCode.JOB_FAILED);
      assert.equal(error.message, 'run trn_1 FAILED: exit code 1: training diverged in epoch 2');
      assert.equal(stdout.text, 'line 1\n');
    });

    it('-f exits 7 for a run that was stopped (CANCELLED)', async () => {
      api = await fakeApi(
        (op) => (op === 'TrainRunBrief' ? brief({ status: 'CANCELLED', exitCode: null, failureReason: 'stopped by the vendor' }) : {}),
        () => events([{ lines: [], finalStatus: 'CANCELLED' }]),
      );
      const error = await expectCliError(trainLogs({ ...globals(), run_id: 'trn_1', follow: true }, io()), ExitCode.JOB_FAILED);
      assert.equal(error.message, 'run trn_1 CANCELLED: stopped by the vendor');
    });

    it('-f maps a refused subscription (NOT_FOUND) to exit 4', async () => {
      api = await fakeApi(
        () => brief({ status: 'RUNNING' }),
        () => {
          throw new GraphQLError('no training run trn_1', { extensions: { code: 'NOT_FOUND' } });
        },
      );
      const error = await expectCliError(trainLogs({ ...globals(), run_id: 'trn_1', follow: true }, io(), { retry: FAST_RETRY }), ExitCode.NOT_FOUND);
      assert.equal(error.message, 'no training run trn_1');
      assert.equal(api.calls.length, 1, 'no retry after a refusal');
    });

    it('-f exits 3 when the server closes the socket for the key (4403)', async () => {
      api = await fakeApi(
        () => brief({ status: 'RUNNING' }),
        () => events([]),
        (socket) => {
          socket.close(4403, 'API key revoked');
          return false;
        },
      );
      const error = await expectCliError(trainLogs({ ...globals(), run_id: 'trn_1', follow: true }, io(), { retry: FAST_RETRY }), ExitCode.AUTH);
      assert.equal(error.message, 'API key revoked');
    });

    it('-f exits 5 with the reason when the server closes the socket for too many connections (4429)', async () => {
      api = await fakeApi(
        () => brief({ status: 'RUNNING' }),
        () => events([]),
        (socket) => {
          socket.close(4429, 'too many open WebSockets for this API key (the limit is 20)');
          return false;
        },
      );
      const error = await expectCliError(trainLogs({ ...globals(), run_id: 'trn_1', follow: true }, io(), { retry: FAST_RETRY }), ExitCode.INVALID);
      assert.equal(error.message, 'too many open WebSockets for this API key (the limit is 20)');
      assert.equal(api.calls.length, 0, 'no retry');
    });

    it('-f gives up after the retry limit with exit 6 and says how to resume', async () => {
      api = await fakeApi(
        () => brief({ status: 'RUNNING' }),
        async function* (call) {
          if (call.index === 1) {
            yield line(1);
            yield line(2);
            await sleep(50);
          }
          call.socket.terminate();
        },
      );
      const error = await expectCliError(trainLogs({ ...globals(), run_id: 'trn_1', follow: true }, io(), { retry: FAST_RETRY }), ExitCode.UNREACHABLE);
      assert.match(error.message, /lost the log stream of run trn_1 .* after 3 attempts/);
      assert.equal(error.hint, 'The run keeps going. Resume with `mp train logs trn_1 -f --after 2`.');
      assert.equal(api.calls.length, 4, 'the first subscription and 3 attempts');
      assert.equal(stdout.text, 'line 1\nline 2\n');
    });

    it('-f stops quietly when stdout is closed (mp train logs -f | head), leaving the run alone', async () => {
      /** A pipe whose reader went away after the first line: EPIPE, as process.stdout reports it. */
      class ClosingPipe extends EventEmitter implements TextOutput {
        text = '';
        write(chunk: string): boolean {
          if (this.text) {
            setImmediate(() => this.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })));
            return false;
          }
          this.text += chunk;
          return true;
        }
      }
      const pipe = new ClosingPipe();
      api = await fakeApi(
        () => brief({ status: 'RUNNING' }),
        async function* () {
          for (let seq = 1; seq <= 1000; seq++) {
            yield line(seq);
            await sleep(2);
          }
          yield { lines: [], finalStatus: 'SUCCEEDED' };
        },
      );
      const started = Date.now();
      await trainLogs({ ...globals(), run_id: 'trn_1', follow: true }, { ...io(), stdout: pipe }, { retry: FAST_RETRY });
      assert.ok(Date.now() - started < 1500, 'it does not wait for the run to end');
      assert.equal(pipe.text, 'line 1\n');
      assert.equal(pipe.listenerCount('error'), 1, 'a listener stays for writes still queued');
      assert.equal(api.seen.filter((request) => request.operationName === 'TrainStop').length, 0);
    });

    it('-f stops following on Ctrl-C with exit 130 and says the run keeps going', async () => {
      const controller = new AbortController();
      api = await fakeApi(
        () => brief({ status: 'RUNNING' }),
        async function* () {
          yield line(1);
          setTimeout(() => controller.abort(), 50);
          await sleep(5_000);
        },
      );
      const started = Date.now();
      const error = await expectCliError(trainLogs({ ...globals(), run_id: 'trn_1', follow: true }, io(), { signal: controller.signal }), ExitCode.INTERRUPTED);
      assert.ok(Date.now() - started < 3_000, 'it stops at once');
      assert.match(error.message, /stopped following run trn_1; the run itself keeps going/);
      assert.match(error.hint ?? '', /mp train stop trn_1/);
      assert.equal(stdout.text, 'line 1\n');
      assert.equal(api.seen.filter((request) => request.operationName === 'TrainStop').length, 0);
    });
  });
});
