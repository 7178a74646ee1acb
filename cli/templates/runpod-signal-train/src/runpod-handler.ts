/**
 * The same training program as a RunPod serverless worker (see README.md, "Run it on RunPod").
 *
 * RunPod's handler contract: the handler receives a job `{ id, input }`; what it yields is a
 * partial output (what the endpoint's `/stream` returns), what it finally returns becomes the
 * job's `output`, and throwing (or returning `{ error }`) marks the job FAILED.
 *
 * The marketplace submits jobs whose input is
 *   { runId, task, round, files: [{ name, kind, sha256, sizeBytes, url }], hyperparameters, artifactUploadUrl }
 * and this handler
 *   1. downloads the round's files from their signed URLs, verifying size and sha256;
 *   2. runs the training of train.ts in-process, yielding each output line as
 *      `{ line, stream: 'stdout' | 'stderr' }` and each metric as `{ mp: 'metric', name, step, value }`;
 *   3. PUTs every file of the output directory to `artifactUploadUrl + '/' + name`;
 *   4. yields, then returns, `{ artifacts: [{ name, sizeBytes, sha256, blobKey }] }` (blobKey: what
 *      the upload's answer `{ name, sizeBytes, sha256, blobKey }` says the server stored it as).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { loadDeclarations, resolveHyperparameters } from './hparams';
import { FILES, type TrainSink, describeFailure, runTraining } from './train';

export interface RunpodJob {
  id: string;
  input: unknown;
}

export type FileKind = 'TRAIN' | 'VALIDATION' | 'LIVE' | 'RESOLUTION';

export interface JobFile {
  name: string;
  kind: FileKind;
  sha256: string;
  sizeBytes: number;
  url: string;
}

export interface JobInput {
  runId: string;
  task: string;
  round: number | null;
  files: JobFile[];
  hyperparameters: Record<string, unknown>;
  artifactUploadUrl: string;
}

export interface ArtifactOutput {
  name: string;
  sizeBytes: number;
  sha256: string;
  /** Where the upload URL's server stored the file, when its answer says (the marketplace's does). */
  blobKey?: string;
}

export type LineOutput = { line: string; stream: 'stdout' | 'stderr' };
export type MetricOutput = { mp: 'metric'; name: string; step: number; value: number };
/** The last partial output: the same list the handler returns (RunPod's SDKs stream a generator's items, not its return value). */
export type ArtifactsOutput = { artifacts: ArtifactOutput[] };
export type StreamOutput = LineOutput | MetricOutput | ArtifactsOutput;

export interface HandlerOutput {
  artifacts: ArtifactOutput[];
}

export type Handler = (job: RunpodJob) => AsyncGenerator<StreamOutput, HandlerOutput, undefined>;

/** Where each kind of round file goes, under the names train.ts reads. */
const FILE_FOR_KIND: Partial<Record<FileKind, string>> = {
  TRAIN: FILES.train,
  VALIDATION: FILES.validation,
  LIVE: FILES.live,
};
const KINDS: readonly FileKind[] = ['TRAIN', 'VALIDATION', 'LIVE', 'RESOLUTION'];

/** A job input the handler cannot work with. */
export class JobInputError extends Error {
  override readonly name = 'JobInputError';
}

/** Checks the job input field by field, with messages that name the field. */
export function parseJobInput(input: unknown): JobInput {
  const fail = (message: string): never => {
    throw new JobInputError(`bad job input: ${message}`);
  };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) fail('input must be an object');
  const value = input as Record<string, unknown>;
  const runId = value.runId;
  if (typeof runId !== 'string' || runId === '') fail('input.runId must be a non-empty string');
  const task = value.task ?? 'SIGNAL';
  if (task !== 'SIGNAL') fail(`input.task is ${JSON.stringify(task)}; this template trains SIGNAL models`);
  const round = value.round ?? null;
  if (round !== null && !(typeof round === 'number' && Number.isInteger(round) && round > 0)) {
    fail('input.round must be a positive integer');
  }
  const hyperparameters = value.hyperparameters ?? {};
  if (typeof hyperparameters !== 'object' || hyperparameters === null || Array.isArray(hyperparameters)) {
    fail('input.hyperparameters must be an object such as {"lr": 0.01}');
  }
  const artifactUploadUrl = value.artifactUploadUrl;
  if (typeof artifactUploadUrl !== 'string' || !isHttpUrl(artifactUploadUrl)) fail('input.artifactUploadUrl must be an http(s) URL');
  if (!Array.isArray(value.files)) fail('input.files must be a list of {name, kind, sha256, sizeBytes, url}');
  const files = (value.files as unknown[]).map((raw, i): JobFile => {
    const where = `input.files[${i}]`;
    if (typeof raw !== 'object' || raw === null) return fail(`${where} must be an object`);
    const file = raw as Record<string, unknown>;
    if (typeof file.name !== 'string' || !/^[A-Za-z0-9._-]{1,128}$/.test(file.name) || file.name.startsWith('.')) {
      fail(`${where}.name must be a plain file name such as train.csv`);
    }
    if (typeof file.kind !== 'string' || !KINDS.includes(file.kind as FileKind)) fail(`${where}.kind must be one of ${KINDS.join(', ')}`);
    if (typeof file.sha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(file.sha256)) fail(`${where}.sha256 must be 64 hexadecimal characters`);
    if (typeof file.sizeBytes !== 'number' || !Number.isSafeInteger(file.sizeBytes) || file.sizeBytes < 0) {
      fail(`${where}.sizeBytes must be a whole number of bytes`);
    }
    if (typeof file.url !== 'string' || !isHttpUrl(file.url)) fail(`${where}.url must be an http(s) URL`);
    return {
      name: file.name as string,
      kind: file.kind as FileKind,
      sha256: (file.sha256 as string).toLowerCase(),
      sizeBytes: file.sizeBytes as number,
      url: file.url as string,
    };
  });
  for (const kind of ['TRAIN', 'VALIDATION', 'LIVE'] as const) {
    const count = files.filter((file) => file.kind === kind).length;
    if (count !== 1) fail(`input.files must hold exactly one ${kind} file (found ${count})`);
  }
  return {
    runId: runId as string,
    task: 'SIGNAL',
    round: round as number | null,
    files,
    hyperparameters: hyperparameters as Record<string, unknown>,
    artifactUploadUrl: artifactUploadUrl as string,
  };
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A failure worth another try: the network, 429 or 5xx. */
class RetryableError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Runs `attempt` up to 3 times, 1 s then 2 s apart (or what a 429's Retry-After says, up to 30 s). */
async function withRetries<T>(attempt: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof RetryableError) || tries >= 3) throw error;
      await sleep(Math.min(error.retryAfterMs ?? 1000 * tries, 30_000));
    }
  }
}

/** What went wrong with a request, without its URL (signed URLs carry credentials). */
async function httpFailure(response: Response, what: string): Promise<Error> {
  const body = (await response.text().catch(() => '')).split('\n')[0].slice(0, 200);
  const message = `${what}: HTTP ${response.status}${body ? ` (${body})` : ''}`;
  if (response.status === 429) {
    const seconds = Number(response.headers.get('retry-after'));
    return new RetryableError(message, Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined);
  }
  return response.status >= 500 ? new RetryableError(message) : new Error(message);
}

function networkFailure(error: unknown, what: string): RetryableError {
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  return new RetryableError(`${what}: ${cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error))}`);
}

/** Downloads one file to `target`, checking its size and sha256 before giving it its final name. */
export async function downloadFile(file: JobFile, target: string): Promise<void> {
  const what = `downloading ${file.name}`;
  const partial = `${target}.part`;
  await withRetries(async () => {
    let response: Response;
    try {
      response = await fetch(file.url);
    } catch (error) {
      throw networkFailure(error, what);
    }
    if (!response.ok || !response.body) throw await httpFailure(response, what);
    const hash = createHash('sha256');
    let size = 0;
    try {
      await pipeline(
        Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>),
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            hash.update(chunk);
            size += chunk.length;
            yield chunk;
          }
        },
        fs.createWriteStream(partial),
      );
    } catch (error) {
      await fs.promises.rm(partial, { force: true });
      throw networkFailure(error, what);
    }
    const sha256 = hash.digest('hex');
    if (size !== file.sizeBytes || sha256 !== file.sha256) {
      await fs.promises.rm(partial, { force: true });
      throw new Error(`${file.name} is corrupt: got ${size} bytes with sha256 ${sha256}, expected ${file.sizeBytes} bytes with sha256 ${file.sha256}`);
    }
    await fs.promises.rename(partial, target);
  });
}

/** `artifactUploadUrl + '/' + name`, keeping a query string (a signature) where it belongs. */
export function artifactUrl(base: string, name: string): string {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${encodeURIComponent(name)}`;
  return url.toString();
}

const CONTENT_TYPES: Record<string, string> = { '.json': 'application/json', '.csv': 'text/csv' };

/**
 * PUTs one artifact; the files are small (a model, metrics, predictions), so one buffer is fine.
 * When the server answers with JSON `{ sizeBytes, sha256, blobKey }` (the marketplace does), the
 * checksum must match what was sent, and blobKey is passed on.
 */
export async function uploadArtifact(file: string, baseUrl: string): Promise<ArtifactOutput> {
  const name = path.basename(file);
  const body = await fs.promises.readFile(file);
  const sha256 = createHash('sha256').update(body).digest('hex');
  const what = `uploading ${name}`;
  return withRetries(async () => {
    let response: Response;
    try {
      response = await fetch(artifactUrl(baseUrl, name), {
        method: 'PUT',
        body,
        headers: { 'content-type': CONTENT_TYPES[path.extname(name)] ?? 'application/octet-stream', 'x-content-sha256': sha256 },
      });
    } catch (error) {
      throw networkFailure(error, what);
    }
    if (!response.ok) throw await httpFailure(response, what);
    const answer = await response.text().catch(() => '');
    let stored: { sha256?: unknown; blobKey?: unknown } = {};
    try {
      stored = answer.trim().startsWith('{') ? (JSON.parse(answer) as typeof stored) : {};
    } catch {
      stored = {}; // not JSON: a plain storage server; nothing more to check
    }
    if (typeof stored.sha256 === 'string' && stored.sha256.toLowerCase() !== sha256) {
      throw new Error(`${what}: the server stored sha256 ${stored.sha256}, but ${sha256} was sent`);
    }
    const artifact: ArtifactOutput = { name, sizeBytes: body.length, sha256 };
    if (typeof stored.blobKey === 'string' && stored.blobKey !== '') artifact.blobKey = stored.blobKey;
    return artifact;
  });
}

/** An unbounded queue that training pushes into and the handler's generator drains. */
class Channel<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private closed = false;
  private wake: (() => void) | null = null;

  push(item: T): void {
    this.items.push(item);
    this.notify();
  }

  close(): void {
    this.closed = true;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (;;) {
      while (this.items.length > 0) yield this.items.shift() as T;
      if (this.closed) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

const stdout = (line: string): LineOutput => ({ line, stream: 'stdout' });

/** The RunPod handler: download, train, upload, report. See the top of this file. */
export async function* handler(job: RunpodJob): AsyncGenerator<StreamOutput, HandlerOutput, undefined> {
  let workDir: string | null = null;
  try {
    const input = parseJobInput(job.input);
    const hyperparameters = resolveHyperparameters(input.hyperparameters, loadDeclarations(), 'input.hyperparameters');
    workDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'mp-job-'));
    const dataDir = path.join(workDir, 'data');
    const outputDir = path.join(workDir, 'out');
    await fs.promises.mkdir(dataDir);
    yield stdout(`job ${job.id}: run ${input.runId}, round ${input.round ?? 'unknown'}`);

    for (const file of input.files) {
      const target = FILE_FOR_KIND[file.kind];
      if (!target) continue; // RESOLUTION files are for scoring, not training
      await downloadFile(file, path.join(dataDir, target));
      yield stdout(`downloaded ${file.name} (${file.sizeBytes} bytes, sha256 verified)`);
    }

    const channel = new Channel<StreamOutput>();
    const sink: TrainSink = {
      log: (line) => channel.push(stdout(line)),
      metric: (name, step, value) => channel.push({ mp: 'metric', name, step, value }),
    };
    const training = runTraining({ dataDir, outputDir, hyperparameters, runId: input.runId, round: input.round }, sink).finally(() => channel.close());
    training.catch(() => undefined); // awaited below; this only keeps an early generator return from leaving it unhandled
    yield* channel;
    await training;

    const artifacts: ArtifactOutput[] = [];
    const names = (await fs.promises.readdir(outputDir, { withFileTypes: true }))
      .filter((entry) => entry.isFile() && !entry.name.includes('.tmp-'))
      .map((entry) => entry.name)
      .sort();
    for (const name of names) {
      const artifact = await uploadArtifact(path.join(outputDir, name), input.artifactUploadUrl);
      artifacts.push(artifact);
      yield stdout(`uploaded ${name} (${artifact.sizeBytes} bytes)`);
    }
    yield { artifacts };
    return { artifacts };
  } catch (error) {
    const { message } = describeFailure(error);
    yield { line: `error: ${message}`, stream: 'stderr' };
    throw error;
  } finally {
    if (workDir) await fs.promises.rm(workDir, { recursive: true, force: true });
  }
}

/* ============================================================================================
 * MINIMAL RUNPOD WORKER LOOP: a stand-in for the RunPod SDK's `serverless.start({ handler })`.
 *
 * The RunPod worker SDK is not available offline, so this is the least a container needs to be
 * a serverless worker, following the protocol of RunPod's open-source worker SDK: poll
 * RUNPOD_WEBHOOK_GET_JOB for a job, POST each partial output to RUNPOD_WEBHOOK_POST_STREAM and
 * the result to RUNPOD_WEBHOOK_POST_OUTPUT (authorized with RUNPOD_AI_API_KEY). It has no
 * heartbeat, no concurrency and no cancellation: in production, let the official SDK's
 * `serverless.start({ handler })` wrap `handler` and delete this section.
 *
 * Without RUNPOD_WEBHOOK_GET_JOB (on your machine) it runs one job from `--test_input '<json>'`
 * or ./test_input.json, prints every partial output and the result as JSON lines, and exits
 * 0 or 1, like the SDK's local test mode.
 * ============================================================================================ */

export interface WorkerOptions {
  env?: NodeJS.ProcessEnv;
  argv?: readonly string[];
  /** Stops the polling loop (after the job in progress). */
  signal?: AbortSignal;
  /** Where the worker's own lines go; default stdout, which RunPod shows as the worker's log. */
  print?: (line: string) => void;
}

/** Runs the worker; resolves with an exit code. */
export async function startWorker(handle: Handler, options: WorkerOptions = {}): Promise<number> {
  const env = options.env ?? process.env;
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  if (!env.RUNPOD_WEBHOOK_GET_JOB) return runLocalTest(handle, options.argv ?? process.argv.slice(2), print);

  if (!env.RUNPOD_WEBHOOK_POST_OUTPUT) {
    print('worker: RUNPOD_WEBHOOK_GET_JOB is set but RUNPOD_WEBHOOK_POST_OUTPUT is not; results would have nowhere to go');
    return 2;
  }
  const workerId = env.RUNPOD_POD_ID || `local-${process.pid}`;
  const headers = { authorization: env.RUNPOD_AI_API_KEY ?? '', 'content-type': 'application/json' };
  const getUrl = env.RUNPOD_WEBHOOK_GET_JOB.replace('$ID', workerId);
  const outputUrl = env.RUNPOD_WEBHOOK_POST_OUTPUT.replace('$RUNPOD_POD_ID', workerId);
  const streamUrl = (env.RUNPOD_WEBHOOK_POST_STREAM ?? '').replace('$RUNPOD_POD_ID', workerId);
  const signal = options.signal;

  const post = async (template: string, jobId: string, body: unknown): Promise<void> => {
    await withRetries(async () => {
      let response: Response;
      try {
        response = await fetch(template.replace('$ID', jobId), { method: 'POST', headers, body: JSON.stringify(body) });
      } catch (error) {
        throw networkFailure(error, 'sending a result to RunPod');
      }
      if (!response.ok) throw await httpFailure(response, 'sending a result to RunPod');
      await response.arrayBuffer().catch(() => undefined);
    });
  };

  print(`worker ${workerId}: waiting for jobs`);
  while (!signal?.aborted) {
    let job: RunpodJob | null = null;
    try {
      const url = new URL(getUrl);
      url.searchParams.set('job_in_progress', '0');
      const response = await fetch(url, { headers, signal });
      if (response.status === 200) {
        const body = (await response.json()) as Partial<RunpodJob>;
        if (typeof body.id === 'string' && body.input !== undefined) job = { id: body.id, input: body.input };
        else print('worker: ignored a job without id or input');
      } else {
        await response.arrayBuffer().catch(() => undefined);
        if (response.status !== 204 && response.status !== 400) print(`worker: getting a job failed: HTTP ${response.status}`);
      }
    } catch (error) {
      if (signal?.aborted) break;
      print(`worker: getting a job failed: ${networkFailure(error, 'poll').message}`);
    }
    if (!job) {
      if (!signal?.aborted) await sleep(200);
      continue;
    }
    print(`job ${job.id}: started`);
    const outcome = await drive(handle, job, async (partial) => {
      if ('line' in partial) print(partial.line);
      if (streamUrl) await post(streamUrl, job.id, { output: partial });
    });
    print(`job ${job.id}: ${'error' in outcome ? `failed: ${outcome.error}` : 'completed'}`);
    try {
      await post(outputUrl, job.id, outcome);
    } catch (error) {
      print(`job ${job.id}: could not send the result: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return 0;
}

/** Runs one job through the handler: `{ output }` when it returns, `{ error }` when it throws or returns `{ error }`. */
async function drive(
  handle: Handler,
  job: RunpodJob,
  onPartial: (partial: StreamOutput) => Promise<void>,
): Promise<{ output: HandlerOutput } | { error: string }> {
  const generator = handle(job);
  try {
    for (let step = await generator.next(); ; step = await generator.next()) {
      if (step.done) {
        const value = step.value as HandlerOutput | { error?: unknown };
        if ('error' in value && value.error) return { error: String(value.error) };
        return { output: step.value };
      }
      await onPartial(step.value);
    }
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

async function runLocalTest(handle: Handler, argv: readonly string[], print: (line: string) => void): Promise<number> {
  const flag = argv.indexOf('--test_input');
  let text: string;
  if (flag !== -1 && argv[flag + 1] !== undefined) {
    text = argv[flag + 1];
  } else if (fs.existsSync('test_input.json')) {
    text = fs.readFileSync('test_input.json', 'utf8');
  } else {
    print(
      JSON.stringify({
        error:
          'RUNPOD_WEBHOOK_GET_JOB is not set, so this is not a RunPod worker; pass --test_input \'{"input": {...}}\' or create test_input.json to run one job here',
      }),
    );
    return 2;
  }
  let job: RunpodJob;
  try {
    const parsed = JSON.parse(text) as { id?: unknown; input?: unknown };
    job = { id: typeof parsed.id === 'string' ? parsed.id : 'local-test', input: parsed.input };
  } catch (error) {
    print(JSON.stringify({ error: `the test input is not JSON: ${error instanceof Error ? error.message : String(error)}` }));
    return 2;
  }
  const outcome = await drive(handle, job, async (partial) => print(JSON.stringify(partial)));
  print(JSON.stringify(outcome));
  return 'error' in outcome ? 1 : 0;
}

/* ============================ end of the minimal worker loop ============================ */

if (require.main === module) {
  const controller = new AbortController();
  if (process.env.RUNPOD_WEBHOOK_GET_JOB) {
    // Finish the job in progress, then stop polling (RunPod stops idle workers with SIGTERM).
    process.once('SIGTERM', () => controller.abort());
    process.once('SIGINT', () => controller.abort());
  }
  void startWorker(handler, { signal: controller.signal }).then((code) => {
    process.exitCode = code;
  });
}
