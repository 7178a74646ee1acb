/**
 * The LOCAL compute provider: runs a training template as a child process on this machine.
 *
 * One run, step by step:
 *  1. A fresh working directory `<workRoot>/<runId>/` with `data/` and `output/`. Every round
 *     file is streamed from its signed URL into `data/<name>` and verified (size and sha256);
 *     any problem ends the run as FAILED before the program starts.
 *  2. The training program starts under a supervisor (local/supervisor.ts), a process of its own
 *     that the server holds by a socket: it starts the program in its own process group and
 *     session with cwd = the working directory and an environment built from scratch (see
 *     `childEnv`): nothing of the server's own environment (DATABASE_URL, MP_SIGNING_SECRET,
 *     RUNPOD_API_KEY, ...) reaches it. When the server process ends in any way, SIGKILL included,
 *     the socket closes and the supervisor stops the program's group (SIGTERM, then SIGKILL after
 *     `killGraceMs`). With `runUser` (when the server runs as root) the program runs as that
 *     user, owns only its working directory, and cannot read the server's environment
 *     (/proc/<pid>/environ), the signing secret or the database (see local/work-root.ts).
 *  3. Every stdout/stderr line becomes a log line (sanitized, capped at `maxLineBytes`); a
 *     metric line also becomes a metric.
 *  4. When the program exits, whatever else is left in its process group is SIGKILLed, and so is
 *     any process that carries its MP_RUN_ID and left the group (local/leftovers.ts); a program
 *     that ran as another user has its working directory taken back first (local/seal.ts).
 *     Then the regular files in `output/` become artifacts (relative name, local path, size, sha256).
 *  5. An abort of `signal` sends SIGTERM to the process group, then SIGKILL after `killGraceMs`,
 *     and resolves with status ABORTED (the worker maps the abort reason to the run's status).
 *  6. Disk guard: `output/` is measured every second and on exit; past `maxOutputBytes` the
 *     group is SIGKILLed and the run FAILS (with no artifacts: they are what filled the disk).
 *  7. `data/` is removed when `run()` ends; `output/` stays so the worker can move the
 *     artifacts into the blob store, after which the worker calls `cleanup(runId)`, which
 *     removes the whole working directory.
 *  8. A record per run (local/run-records.ts) names the server process that owns it and the
 *     program's pid and start time. `cleanup(runId)` (the worker's reaper calls it for a run it
 *     ended as "worker lost") and `sweep()` (at start: every run whose owning process is gone)
 *     kill what such a run left behind and remove its working directory.
 *
 * Which program runs (the template directory is `job.templateDir`):
 *  - `dist/train.js` if the template has one (a compiled template): `node dist/train.js`;
 *  - otherwise the first `*.ts|*.mts|*.cts|*.js|*.mjs|*.cjs` path named in package.json's
 *    `scripts.train` (e.g. "tsx src/train.ts"), else its `main`. A TypeScript entry runs as
 *    `node --require <tsx/cjs resolved from this package> <entry>`; a JavaScript one with plain node.
 *  The entry must lie inside the template directory. `process.execPath` is the node binary.
 *
 * `resume` is not implemented: a local job dies with the server process that ran it.
 */
import { chmod, chown, mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { collectArtifacts, directorySize, DownloadError, downloadVerified, formatBytes, formatLimit, isPlainFileName } from './local/files';
import { killLeftovers } from './local/leftovers';
import { LineSplitter } from './local/lines';
import { isSameProcess } from './local/processes';
import { RunRecords, type RunRecord } from './local/run-records';
import { resolveRunUser, unreachableBy, type RunUser } from './local/run-user';
import { seal } from './local/seal';
import { supervise } from './local/supervised';
import { enclose } from './local/work-root';
import { parseMetricLine, type ComputeProvider, type GpuType, type JobEvents, type JobOutcome, type ProducedArtifact, type TrainingJob } from './provider';

export interface LocalProviderOptions {
  /** Where runs get their working directories: MP_DATA_DIR/runs. */
  workRoot: string;
  /** What it offers; defaults to `defaultLocalGpuTypes()`: the CPU. */
  gpuTypes?: GpuType[];
  /** USD per hour of a local run (MP_LOCAL_CPU_PRICE_USD); default 0. Ignored with `gpuTypes`. */
  cpuPricePerHourUsd?: string;
  /** Between SIGTERM and SIGKILL on abort, and when the server is gone. Default 5000. */
  killGraceMs?: number;
  /** Longer log lines are cut. Default 64 KiB. */
  maxLineBytes?: number;
  /** Disk guard for MP_OUTPUT_DIR. Default 1 GiB. */
  maxOutputBytes?: number;
  /**
   * Who runs the training programs (MP_LOCAL_RUN_USER): a user name or uid. Unset, or the
   * server's own user: the server's user. Any other needs the server to run as root.
   */
  runUser?: string;
}

const DISK_CHECK_INTERVAL_MS = 1000;
/** How long to wait for the output pipes to close after the program (and its group) ended. */
const PIPE_DRAIN_MS = 2000;
/** How many stderr lines the failure reason quotes, and its total length. */
const STDERR_TAIL_LINES = 5;
const MAX_REASON_CHARS = 500;
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const ENTRY = /(?:^|\s)((?:[\w@.-]+\/)*[\w@.-]+\.(?:[cm]?ts|[cm]?js))(?=\s|$)/;

/**
 * What this machine really has: its CPU (no GPU is simulated, so nothing is billed as if it were
 * one), at `pricePerHourUsd` (MP_LOCAL_CPU_PRICE_USD, default 0).
 */
export function defaultLocalGpuTypes(memoryBytes = os.totalmem(), pricePerHourUsd = '0'): GpuType[] {
  // GpuType.memoryGb is an Int: 23.5 GiB would fail the whole gpuTypes query.
  const memoryGb = Math.round(memoryBytes / 1024 ** 3);
  return [{ id: 'CPU', providerGpuId: 'cpu', displayName: 'Local CPU (no GPU)', memoryGb, pricePerHourUsd, provider: 'LOCAL' }];
}

interface Entry {
  /** Arguments to `process.execPath`. */
  args: string[];
  /** For the log: "node --require tsx/cjs src/train.ts". */
  display: string;
  /** What the program's user must be able to read: the entry, and tsx for a TypeScript one. */
  reads: string[];
}

class TemplateError extends Error {}

export class LocalProvider implements ComputeProvider {
  readonly name = 'LOCAL' as const;
  private readonly workRoot: string;
  private readonly gpuTypeList: GpuType[];
  private readonly killGraceMs: number;
  private readonly maxLineBytes: number;
  private readonly maxOutputBytes: number;
  /** Set when programs run as a user other than the server's. */
  private readonly runAs: RunUser | undefined;
  private readonly records: RunRecords;

  constructor(options: LocalProviderOptions) {
    this.workRoot = path.resolve(options.workRoot);
    this.gpuTypeList = options.gpuTypes ?? defaultLocalGpuTypes(os.totalmem(), options.cpuPricePerHourUsd);
    this.killGraceMs = positive('killGraceMs', options.killGraceMs ?? 5000, true);
    this.maxLineBytes = positive('maxLineBytes', options.maxLineBytes ?? 64 * 1024);
    this.maxOutputBytes = positive('maxOutputBytes', options.maxOutputBytes ?? 1024 ** 3);
    this.records = new RunRecords(path.join(this.workRoot, '.records'));
    const user = options.runUser === undefined ? undefined : resolveRunUser(options.runUser);
    const own = ownUid();
    if (user && user.uid !== own) {
      if (own !== 0) {
        throw new RangeError(`local training programs can run as ${user.name} (uid ${user.uid}) only when the server runs as root; it runs as uid ${own}`);
      }
      this.runAs = user;
    }
  }

  async gpuTypes(): Promise<GpuType[]> {
    return this.gpuTypeList.map((gpu) => ({ ...gpu }));
  }

  /** The run's working directory. */
  workDir(runId: string): string {
    if (!RUN_ID.test(runId)) throw new RangeError(`not a valid run id for a directory name: ${JSON.stringify(runId)}`);
    return path.join(this.workRoot, runId);
  }

  /**
   * Removes whatever the run left on this machine: processes of the run still alive (the
   * program's group, helpers that left it), then its whole working directory. The worker calls
   * it after moving the artifacts away, and for a run it ended as "worker lost".
   */
  async cleanup(runId: string): Promise<void> {
    const workDir = this.workDir(runId);
    await this.takeBack(runId, workDir);
    await rm(workDir, { recursive: true, force: true });
    await this.records.remove(runId);
  }

  /**
   * After a restart: cleans up every run whose owning server process is gone (a run of a live
   * process sharing this data directory is left alone), and removes working directories that
   * belong to no run. Returns the run ids cleaned up.
   */
  async sweep(): Promise<string[]> {
    const cleaned: string[] = [];
    const problems: string[] = [];
    const attempt = async (runId: string, work: () => Promise<void>): Promise<void> => {
      try {
        await work();
        cleaned.push(runId);
      } catch (error) {
        problems.push(`${runId}: ${(error as Error).message}`);
      }
    };
    for (const runId of await this.records.list()) {
      if (!RUN_ID.test(runId)) continue;
      const record = await this.records.read(runId);
      if (record && isSameProcess(record.owner)) continue;
      await attempt(runId, () => this.cleanup(runId));
    }
    const entries = await readdir(this.workRoot, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      // A run's record is written before its directory is made: a directory without one is nobody's.
      if (!entry.isDirectory() || !RUN_ID.test(entry.name) || (await this.records.read(entry.name))) continue;
      const dir = path.join(this.workRoot, entry.name);
      await attempt(entry.name, async () => {
        const owner = (await stat(dir)).uid;
        if (owner !== ownUid()) await seal(dir, owner);
        await rm(dir, { recursive: true, force: true });
      });
    }
    if (problems.length > 0) throw new Error(`could not clean up after every lost local run: ${problems.join('; ')}`);
    return cleaned;
  }

  async run(job: TrainingJob, events: JobEvents, signal: AbortSignal): Promise<JobOutcome> {
    if (signal.aborted) return outcome('ABORTED', null, abortedBefore(signal), 0, []);
    const workDir = this.workDir(job.runId);
    const dataDir = path.join(workDir, 'data');
    const outputDir = path.join(workDir, 'output');
    await mkdir(this.workRoot, { recursive: true });
    if (this.runAs) await enclose(this.workRoot, this.runAs);
    const record: RunRecord = { runId: job.runId, owner: RunRecords.self(), uid: this.runAs?.uid ?? ownUid() };
    await this.records.write(record);
    try {
      await rm(workDir, { recursive: true, force: true });
      await mkdir(dataDir, { recursive: true });
      await mkdir(outputDir, { recursive: true });

      const problem = await this.download(job, dataDir, events, signal);
      if (problem !== null) return outcome(signal.aborted ? 'ABORTED' : 'FAILED', null, problem, 0, []);

      let entry: Entry;
      try {
        entry = await resolveEntry(job.templateDir);
        if (this.runAs) for (const file of entry.reads) this.assertReadable(file);
      } catch (error) {
        if (error instanceof TemplateError) return outcome('FAILED', null, error.message, 0, []);
        throw error;
      }
      if (signal.aborted) return outcome('ABORTED', null, abortedBefore(signal), 0, []);
      if (this.runAs) {
        // The program's user owns its working directory and output; data/ stays the server's, read-only to it.
        for (const dir of [workDir, outputDir]) {
          await chown(dir, this.runAs.uid, this.runAs.gid);
          await chmod(dir, 0o700);
        }
      }
      return await this.execute(job, entry, { workDir, dataDir, outputDir }, record, events, signal);
    } finally {
      await this.takeBack(job.runId, workDir);
      await rm(dataDir, { recursive: true, force: true });
    }
  }

  /** Ends the run's leftover processes and, when its program ran as another user, takes its directory back. */
  private async takeBack(runId: string, workDir: string): Promise<void> {
    const record = await this.records.read(runId);
    if (!record) return;
    killLeftovers(record);
    if (record.uid !== ownUid()) await seal(workDir, record.uid);
  }

  private assertReadable(file: string): void {
    const problem = this.runAs && unreachableBy(file, this.runAs);
    if (problem) {
      throw new TemplateError(`local training programs run as ${this.runAs!.name}, who cannot read ${file}: ${problem}; make the template readable by it`);
    }
  }

  /** Downloads and verifies every file; returns null, or why the run cannot start. */
  private async download(job: TrainingJob, dataDir: string, events: JobEvents, signal: AbortSignal): Promise<string | null> {
    const seen = new Set<string>();
    for (const file of job.files) {
      if (!isPlainFileName(file.name) || seen.has(file.name)) {
        return `round file name ${JSON.stringify(file.name)} is not a plain, unique file name`;
      }
      seen.add(file.name);
      try {
        await downloadVerified(file, path.join(dataDir, file.name), signal);
      } catch (error) {
        if (signal.aborted) return abortedBefore(signal);
        if (error instanceof DownloadError) {
          events.log('system', error.message);
          return error.message;
        }
        throw error;
      }
      events.log('system', `downloaded ${file.name} (${formatBytes(file.sizeBytes)}, sha256 verified)`);
    }
    return null;
  }

  private async execute(
    job: TrainingJob,
    entry: Entry,
    dirs: { workDir: string; dataDir: string; outputDir: string },
    record: RunRecord,
    events: JobEvents,
    signal: AbortSignal,
  ): Promise<JobOutcome> {
    const startedAt = performance.now();
    const program = supervise(job.runId, {
      command: process.execPath,
      args: entry.args,
      cwd: dirs.workDir,
      env: childEnv(job, dirs),
      uid: this.runAs?.uid,
      gid: this.runAs?.gid,
      killGraceMs: this.killGraceMs,
    });

    // Everything that can happen from now on is recorded here; listeners go on before any await.
    // The output too: when the supervisor exits, Node resumes its paused stdio pipes, and what
    // nobody listens to then is dropped. Until the run's "started" line is logged it is held here.
    const held = { stdout: holdOutput(program.stdout), stderr: holdOutput(program.stderr) };
    let exitedAt = 0;
    let abortReason: string | null = null;
    let sigkillAfterGrace = false;
    let diskExceeded = false;
    let callbackError: unknown = null;
    const stderrTail: string[] = [];
    const timers: NodeJS.Timeout[] = [];

    const killGroup = (sig: 'SIGTERM' | 'SIGKILL'): void => program.signal(sig);
    const exited = program.ended.then((end) => {
      exitedAt = performance.now();
      return end;
    });
    const pipesClosed = Promise.all([streamDone(program.stdout), streamDone(program.stderr)]);

    const onAbort = (): void => {
      if (exitedAt !== 0 || abortReason !== null) return;
      abortReason = String(signal.reason);
      safe(() => events.log('system', `stopping (${abortReason}): SIGTERM to the process group`));
      killGroup('SIGTERM');
      timers.push(
        setTimeout(() => {
          if (exitedAt !== 0) return;
          sigkillAfterGrace = true;
          safe(() => events.log('system', `still running ${this.killGraceMs} ms after SIGTERM: SIGKILL to the process group`));
          killGroup('SIGKILL');
        }, this.killGraceMs),
      );
    };
    // A callback of the worker threw: stop the program, and run() rejects with that error once it is gone.
    const safe = (fn: () => void): void => {
      try {
        fn();
      } catch (error) {
        if (callbackError === null) {
          callbackError = error;
          killGroup('SIGKILL');
        }
      }
    };
    signal.addEventListener('abort', onAbort, { once: true });

    try {
      const started = await program.started;
      if ('error' in started) {
        await exited;
        return outcome('FAILED', null, `could not start the training program: ${started.error}`, 0, []);
      }
      const pid = started.pid;
      try {
        await this.records.write({ ...record, program: started });
        await events.submitted(`local-${pid}`);
      } catch (error) {
        // The worker could not record the job: it must not run unrecorded.
        killGroup('SIGKILL');
        await exited;
        throw error;
      }
      safe(() => events.running());
      safe(() => events.log('system', `started ${entry.display} (pid ${pid}${this.runAs ? `, as ${this.runAs.name}` : ''})`));

      for (const stream of ['stdout', 'stderr'] as const) {
        const splitter = new LineSplitter(this.maxLineBytes, (line) =>
          safe(() => {
            if (stream === 'stderr') {
              stderrTail.push(line);
              if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
            }
            events.log(stream, line);
            const metric = parseMetricLine(line);
            if (metric) events.metric(metric.name, metric.step, metric.value);
          }),
        );
        held[stream].release(splitter);
      }
      if (signal.aborted) onAbort();

      const checkDisk = async (): Promise<boolean> => {
        if (diskExceeded) return true;
        if ((await directorySize(dirs.outputDir, this.maxOutputBytes)) > this.maxOutputBytes) {
          diskExceeded = true;
          killGroup('SIGKILL');
        }
        return diskExceeded;
      };
      let checking = false;
      const diskTimer = setInterval(() => {
        if (checking || exitedAt !== 0) return;
        checking = true;
        checkDisk().finally(() => (checking = false));
      }, DISK_CHECK_INTERVAL_MS);
      timers.push(diskTimer);

      const end = await exited;
      // With the group gone the pipes close; a process that left the group (setsid) and kept
      // them open does not get to hold the run hostage.
      const drain = setTimeout(() => {
        program.stdout.destroy();
        program.stderr.destroy();
      }, PIPE_DRAIN_MS);
      await pipesClosed;
      clearTimeout(drain);
      for (const timer of timers) clearTimeout(timer);
      if (callbackError !== null) throw callbackError;
      await this.takeBack(job.runId, dirs.workDir);

      const executionSeconds = Math.round(exitedAt - startedAt) / 1000;
      const code = 'lost' in end ? null : end.code;
      const exitSignal = 'lost' in end ? null : end.signal;
      const how = 'lost' in end ? end.lost : exitSignal ? `killed by signal ${exitSignal}` : `exited with code ${code}`;

      if (await checkDisk()) {
        const reason = `the training program wrote more than ${formatLimit(this.maxOutputBytes)} to MP_OUTPUT_DIR`;
        safe(() => events.log('system', `${reason}; it was stopped and its output is not kept`));
        return outcome('FAILED', code, reason, executionSeconds, []);
      }
      const artifacts = await collectArtifacts(dirs.outputDir);
      safe(() => events.log('system', `${how} after ${executionSeconds.toFixed(1)} s; ${artifacts.length} artifact(s)`));
      if (abortReason !== null) {
        const detail = sigkillAfterGrace ? `killed by SIGKILL after ignoring SIGTERM for ${this.killGraceMs} ms` : exitSignal ? how : `${how} after SIGTERM`;
        return outcome('ABORTED', code, `aborted (${abortReason}): ${detail}`, executionSeconds, artifacts);
      }
      if (code === 0) return outcome('SUCCEEDED', 0, null, executionSeconds, artifacts);
      return outcome('FAILED', code, withStderr(how, stderrTail), executionSeconds, artifacts);
    } finally {
      signal.removeEventListener('abort', onAbort);
      for (const timer of timers) clearTimeout(timer);
    }
  }
}

function ownUid(): number {
  return process.getuid?.() ?? -1;
}

/** The whole environment of the training program; nothing is inherited from the server's. */
function childEnv(job: TrainingJob, dirs: { workDir: string; dataDir: string; outputDir: string }): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: dirs.workDir,
    LANG: process.env.LANG || 'C.UTF-8',
    MP_RUN_ID: job.runId,
    MP_DATA_DIR: dirs.dataDir,
    MP_OUTPUT_DIR: dirs.outputDir,
    MP_HPARAMS: JSON.stringify(job.hyperparameters),
    MP_TASK: job.task,
    MP_ROUND: String(job.roundNumber),
    MP_GPU_TYPE: job.gpuType.id,
  };
}

/** Which file of the template to run, and how (see the header comment). */
async function resolveEntry(templateDir: string): Promise<Entry> {
  const root = path.resolve(templateDir);
  const compiled = path.join(root, 'dist', 'train.js');
  if (await isFile(compiled)) return { args: [compiled], display: 'node dist/train.js', reads: [compiled] };

  let manifest: { main?: unknown; scripts?: { train?: unknown } };
  try {
    manifest = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as typeof manifest;
  } catch (error) {
    throw new TemplateError(`the template ${root} has no readable package.json: ${(error as Error).message}`);
  }
  const fromScript = typeof manifest.scripts?.train === 'string' ? ENTRY.exec(manifest.scripts.train)?.[1] : undefined;
  const relative = fromScript ?? (typeof manifest.main === 'string' ? manifest.main : undefined);
  if (!relative) throw new TemplateError(`the template's package.json names no training entry (scripts.train or main)`);
  const file = path.resolve(root, relative);
  const inside = path.relative(root, file);
  if (inside.startsWith('..') || path.isAbsolute(inside)) throw new TemplateError(`the template's training entry ${relative} lies outside the template`);
  if (!(await isFile(file))) throw new TemplateError(`the template's training entry ${relative} does not exist`);
  if (/\.[cm]?js$/.test(file)) return { args: [file], display: `node ${inside}`, reads: [file] };
  if (!/\.[cm]?ts$/.test(file)) throw new TemplateError(`the template's training entry ${relative} is neither TypeScript nor JavaScript`);
  let tsx: string;
  try {
    tsx = require.resolve('tsx/cjs');
  } catch {
    throw new TemplateError('tsx is not installed, so a TypeScript training entry cannot run; compile the template to dist/train.js');
  }
  return { args: ['--require', tsx, file], display: `node --require tsx/cjs ${inside}`, reads: [file, tsx] };
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/**
 * Reads `stream` from now on, keeping what arrives (and whether it ended) until `release` hands
 * it all, in order, to the splitter that takes the rest.
 */
function holdOutput(stream: Readable): { release(splitter: LineSplitter): void } {
  const chunks: Buffer[] = [];
  let ended = false;
  let target: LineSplitter | null = null;
  stream.on('data', (chunk: Buffer) => (target ? target.push(chunk) : chunks.push(chunk)));
  stream.once('end', () => (target ? target.end() : (ended = true)));
  return {
    release(splitter) {
      target = splitter;
      for (const chunk of chunks.splice(0)) splitter.push(chunk);
      if (ended) splitter.end();
    },
  };
}

function streamDone(stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed) return resolve();
    stream.once('close', () => resolve());
    stream.once('error', () => resolve());
  });
}

function withStderr(how: string, tail: string[]): string {
  const lines = tail.filter((line) => line.trim() !== '');
  if (lines.length === 0) return how;
  const head = `${how}; last stderr: `;
  let text = lines.join(' | ');
  const room = MAX_REASON_CHARS - head.length;
  if (text.length > room) text = `…${text.slice(text.length - room + 1)}`;
  return head + text;
}

function abortedBefore(signal: AbortSignal): string {
  return `aborted (${String(signal.reason)}) before the training program started`;
}

function outcome(
  status: JobOutcome['status'],
  exitCode: number | null,
  failureReason: string | null,
  executionSeconds: number,
  artifacts: ProducedArtifact[],
): JobOutcome {
  return { status, exitCode, failureReason, executionSeconds, artifacts };
}

function positive(name: string, value: number, zeroOk = false): number {
  if (!Number.isFinite(value) || value < (zeroOk ? 0 : 1) || !Number.isInteger(value)) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
