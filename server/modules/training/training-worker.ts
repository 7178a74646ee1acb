import { createReadStream } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { Logger } from '../../logger';
import type { Notifications } from '../../db/notifications';
import type { BlobStore, SignedLinks } from '../../storage';
import { updateReturning } from '../../db/returning';
import type { AbortReason, ComputeProvider, JobEvents, JobOutcome, ProviderName, TrainingJob } from '../../providers/provider';
import { DatasetFileEntity } from '../datasets/dataset-file.entity';
import { TrainingRunEntity, type TrainingRunStatus } from './training-run.entity';
import { TrainingArtifactEntity } from './training-artifact.entity';
import { transitionRun } from './run-status';
import { templateDir } from './templates';
import { LogWriter, type LiveLogs } from './log-writer';
import { costMicros, formatUsd, microsFromDecimal } from './money';
import { TRAINING_CHANNEL, decodeTrainingEvent, encodeTrainingEvent } from './training-events';

export interface TrainingWorkerOptions {
  concurrency: number;
  perVendorConcurrency: number;
  leaseSeconds: number;
  /** Values to mask in stored log lines besides our token formats (RUNPOD_API_KEY...). */
  secrets: string[];
  /** Base URL the compute provider fetches signed round files from (MP_PUBLIC_URL, else the listen URL). */
  publicBaseUrl: () => string;
  /** This process's followers of live logs, handed each stored batch directly. */
  liveLogs?: LiveLogs;
  /**
   * Commit log batches without waiting for the WAL flush: only on a PostgreSQL server, which
   * outlives this process. The embedded database dies with it, so there they stay synchronous.
   */
  asyncLogCommit?: boolean;
}

interface ActiveRun {
  controller: AbortController;
  done: Promise<void>;
}

/**
 * Runs queued training runs on their compute provider. Any number of server processes run
 * one each: a run is claimed with FOR UPDATE SKIP LOCKED (so it executes exactly once)
 * and leased; the holder renews the lease while the run is active. Policy for a lost
 * worker: when a lease expires (the process died), any worker's reaper ends the run as
 * FAILED "worker lost", unless it is a RunPod job, which a worker adopts and follows on.
 */
export class TrainingWorker {
  readonly workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly active = new Map<string, ActiveRun>();
  private timers: NodeJS.Timeout[] = [];
  private stopListening?: () => Promise<void>;
  private stopping = false;
  private claiming = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly notifications: Notifications,
    private readonly providers: Map<ProviderName, ComputeProvider>,
    private readonly blobs: BlobStore,
    private readonly links: SignedLinks,
    private readonly log: Logger,
    private readonly options: TrainingWorkerOptions,
  ) {}

  async start(): Promise<void> {
    this.stopListening = await this.notifications.listen(TRAINING_CHANNEL, (payload) => {
      const event = decodeTrainingEvent(payload);
      if (event?.type === 'queued') void this.claimWhileFree();
      if (event?.type === 'stop') this.active.get(event.runId)?.controller.abort('CANCELLED' satisfies AbortReason);
    });
    const heartbeatMs = Math.max(1000, (this.options.leaseSeconds * 1000) / 3);
    this.timers.push(setInterval(() => void this.renewLeases(), heartbeatMs));
    this.timers.push(setInterval(() => void this.reapLostRuns(), heartbeatMs));
    this.timers.push(setInterval(() => void this.claimWhileFree(), 2000));
    for (const timer of this.timers) timer.unref();
    void this.reapLostRuns().then(() => this.claimWhileFree());
  }

  /** Stop claiming; abort what runs here (it ends FAILED "server shut down during the run") and wait for it. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    await this.stopListening?.();
    await this.claimLoop; // a claim in flight lands in `active` before the runs are stopped
    for (const run of this.active.values()) run.controller.abort('SHUTDOWN' satisfies AbortReason);
    await Promise.all([...this.active.values()].map((run) => run.done));
  }

  activeRunIds(): string[] {
    return [...this.active.keys()];
  }

  private claimLoop: Promise<void> = Promise.resolve();

  private claimWhileFree(): Promise<void> {
    if (this.claiming || this.stopping) return this.claimLoop;
    this.claiming = true;
    this.claimLoop = this.claimUntilFull();
    return this.claimLoop;
  }

  private async claimUntilFull(): Promise<void> {
    try {
      while (!this.stopping && this.active.size < this.options.concurrency) {
        const run = await this.claim();
        if (!run) break;
        const controller = new AbortController();
        const done = this.execute(run, controller)
          .catch((error: unknown) => this.log.error({ err: error, runId: run.id }, 'training run ended with an unexpected error'))
          .finally(() => {
          this.active.delete(run.id);
          void this.claimWhileFree();
        });
        this.active.set(run.id, { controller, done });
      }
    } catch (error) {
      this.log.error({ err: error }, 'could not claim a training run');
    } finally {
      this.claiming = false;
    }
  }

  private async claim(): Promise<TrainingRunEntity | null> {
    return this.dataSource.transaction(async (manager) => {
      const rows: { id: string }[] = await manager.query(
        `SELECT run.id FROM training_runs run
          WHERE run.status = 'QUEUED'
            AND (SELECT count(*) FROM training_runs busy
                  WHERE busy.vendor_id = run.vendor_id AND busy.status IN ('STARTING', 'RUNNING')) < $1
          ORDER BY run.queued_at, run.id
          LIMIT 1
          FOR UPDATE SKIP LOCKED`,
        [this.options.perVendorConcurrency],
      );
      if (rows.length === 0) return null;
      const run = await transitionRun(manager, rows[0].id, 'STARTING', { workerId: this.workerId, leaseSeconds: this.options.leaseSeconds, reason: `claimed by ${this.workerId}` });
      await this.announce(manager, run.id, false);
      return run;
    });
  }

  private async execute(run: TrainingRunEntity, controller: AbortController, resumeJobId?: string): Promise<void> {
    const provider = this.providers.get(run.provider);
    const logs = new LogWriter(
      this.dataSource,
      run.id,
      run.logLineCount + 1,
      this.options.secrets,
      (error) => this.log.error({ err: error, runId: run.id }, 'could not store training log lines'),
      this.options.liveLogs,
      this.options.asyncLogCommit,
    );
    controller.signal.addEventListener('abort', () => {
      if (controller.signal.reason === ('LEASE_LOST' satisfies AbortReason)) logs.abandon();
    });
    let runningSince: number | null = run.status === 'RUNNING' ? Date.now() : null;
    let markedRunning: Promise<void> = Promise.resolve();
    let outcome: JobOutcome | null = null;
    let failure: string | null = null;
    const timers: NodeJS.Timeout[] = [];
    try {
      if (!provider) throw new Error(`the ${run.provider} provider is not configured on this server`);
      const job = await this.jobFor(run, provider);
      const price = job.gpuType.pricePerHourUsd;
      const budgetMicros = microsFromDecimal(run.maxBudgetUsd);
      const elapsedBefore = run.startedAt ? Math.max(0, Date.now() - run.startedAt.getTime()) : 0;
      timers.push(setTimeout(() => controller.abort('TIMED_OUT' satisfies AbortReason), Math.max(0, run.timeoutSeconds * 1000 - elapsedBefore)));
      // Cost = price per hour x time running; checked four times a second, stored every 5 s.
      let lastStoredCost = '';
      let ticks = 0;
      timers.push(
        setInterval(() => {
          if (runningSince === null) return;
          const micros = costMicros(price, (Date.now() - runningSince) / 1000);
          if (micros >= budgetMicros) controller.abort('BUDGET_EXCEEDED' satisfies AbortReason);
          const cost = formatUsd(micros);
          ticks += 1;
          if (cost !== lastStoredCost && ticks % 20 === 0) {
            lastStoredCost = cost;
            void this.dataSource
              .query('UPDATE training_runs SET cost_usd = $2 WHERE id = $1', [run.id, cost])
              .then(() => this.announce(this.dataSource, run.id, false))
              .catch(() => undefined);
          }
        }, 250),
      );

      const events: JobEvents = {
        submitted: async (providerJobId) => {
          await this.dataSource.query('UPDATE training_runs SET provider_job_id = $2 WHERE id = $1', [run.id, providerJobId]);
        },
        running: () => {
          if (runningSince !== null) return;
          runningSince = Date.now();
          markedRunning = this.dataSource
            .transaction(async (manager) => {
              await transitionRun(manager, run.id, 'RUNNING', { reason: null });
              await this.announce(manager, run.id, false);
            })
            .catch((error: unknown) => this.log.warn({ err: error, runId: run.id }, 'could not mark the run RUNNING'));
        },
        log: (stream, line) => logs.write(stream, line),
        metric: (name, step, value) => logs.metric(name, step, value),
      };
      logs.write('system', `run ${run.id} on ${run.provider} (${job.gpuType.displayName}), round ${run.roundNumber}, timeout ${run.timeoutSeconds} s, budget $${run.maxBudgetUsd}`);
      outcome = resumeJobId && provider.resume ? await provider.resume(job, resumeJobId, events, controller.signal) : await provider.run(job, events, controller.signal);
      await this.storeArtifacts(run.id, outcome);
    } catch (error) {
      failure = (error as Error).message;
      this.log.error({ err: error, runId: run.id }, 'training run failed in the worker');
    } finally {
      for (const timer of timers) clearTimeout(timer);
      await provider?.cleanup?.(run.id).catch((error: unknown) => this.log.warn({ err: error, runId: run.id }, 'could not clean up after a training run'));
    }

    const executionSeconds = outcome?.executionSeconds ?? (runningSince ? (Date.now() - runningSince) / 1000 : 0);
    const gpu = provider ? (await provider.gpuTypes().catch(() => [])).find((candidate) => candidate.id === run.gpuType) : undefined;
    const cost = formatUsd(Math.min(gpu ? costMicros(gpu.pricePerHourUsd, executionSeconds) : 0, microsFromDecimal(run.maxBudgetUsd)));
    const { status, reason: rawReason } = finalStatusOf(outcome, failure, controller.signal);
    // A failure reason may quote the program's stderr: it is masked like the log lines.
    const reason = rawReason === null ? null : logs.masked(rawReason).slice(0, 1000);
    if (controller.signal.reason === 'LEASE_LOST') {
      this.log.warn({ runId: run.id }, 'another process took over this training run; stopped following it here');
      return;
    }
    await markedRunning;
    logs.write('system', `run ${status}${reason ? `: ${reason}` : ''} (cost $${cost})`);
    await logs.flush();
    try {
      await this.dataSource.transaction(async (manager) => {
        await transitionRun(manager, run.id, status, { reason, exitCode: outcome?.exitCode ?? null, costUsd: cost });
        await this.announce(manager, run.id, true);
      });
    } catch (error) {
      // Already final (e.g. stopped while queued and claimed at once): nothing more to record.
      this.log.warn({ err: error, runId: run.id }, 'could not record the end of a training run');
    }
  }

  private async jobFor(run: TrainingRunEntity, provider: ComputeProvider): Promise<TrainingJob> {
    const gpuType = (await provider.gpuTypes()).find((gpu) => gpu.id === run.gpuType);
    if (!gpuType) throw new Error(`GPU type ${run.gpuType} is no longer offered by ${run.provider}`);
    const files = await this.dataSource.getRepository(DatasetFileEntity).findBy({ roundNumber: run.roundNumber });
    // The provider fetches the files itself; the URLs outlive the run's timeout.
    const expiresAt = new Date(Date.now() + (run.timeoutSeconds + 3600) * 1000);
    const links = this.links.at(this.options.publicBaseUrl());
    return {
      runId: run.id,
      task: run.task,
      roundNumber: run.roundNumber,
      files: files
        .filter((file) => file.kind !== 'RESOLUTION')
        .map((file) => ({
          name: file.name,
          kind: file.kind,
          sha256: file.sha256,
          sizeBytes: file.sizeBytes,
          url: links.downloadUrl(file.blobKey, expiresAt),
        })),
      hyperparameters: Object.fromEntries(run.hyperparameters.map(({ name, value }) => [name, value])),
      gpuType,
      timeoutSeconds: run.timeoutSeconds,
      templateDir: run.template ? templateDir(run.template) : '',
      image: run.image ?? undefined,
      artifactUploadUrl: run.provider === 'RUNPOD' ? links.uploadUrl(`runs/${run.id}`, expiresAt) : undefined,
    };
  }

  private async storeArtifacts(runId: string, outcome: JobOutcome): Promise<void> {
    for (const artifact of outcome.artifacts) {
      let blobKey = artifact.blobKey;
      let sizeBytes = artifact.sizeBytes;
      let sha256 = artifact.sha256;
      if (artifact.localPath) {
        const stored = await this.blobs.put(`runs/${runId}/${artifact.name}`, createReadStream(artifact.localPath));
        ({ key: blobKey, sizeBytes, sha256 } = stored);
      }
      if (!blobKey) continue;
      if (!artifact.localPath) {
        // A remote job reports what it uploaded: only this run's own upload, as big as it says, is recorded.
        const expected = `runs/${runId}/${artifact.name}`;
        const stored = blobKey === expected ? await this.blobs.stat(blobKey) : null;
        if (!stored || stored.sizeBytes !== sizeBytes) {
          this.log.warn({ runId, artifact: artifact.name }, 'ignoring an artifact the job reported but did not upload to its own upload URL');
          continue;
        }
      }
      await this.dataSource
        .getRepository(TrainingArtifactEntity)
        .upsert({ runId, name: artifact.name, sizeBytes, sha256, blobKey, createdAt: new Date() }, ['runId', 'name']);
    }
  }

  private async renewLeases(): Promise<void> {
    const ids = [...this.active.keys()];
    if (ids.length === 0) return;
    try {
      const renewed = await updateReturning<{ id: string }>(
        this.dataSource,
        `UPDATE training_runs SET lease_expires_at = now() + make_interval(secs => $3) WHERE id = ANY($1) AND worker_id = $2 AND status IN ('STARTING', 'RUNNING') RETURNING id`,
        [ids, this.workerId, this.options.leaseSeconds],
      );
      const rows = renewed.map((row) => row.id);
      // A run whose lease another process took (we stalled too long) is no longer ours: stop it without recording an end.
      for (const id of ids) if (!rows.includes(id)) this.active.get(id)?.controller.abort('LEASE_LOST' satisfies AbortReason);
    } catch (error) {
      this.log.warn({ err: error }, 'could not renew training leases');
    }
  }

  /** Runs whose worker stopped renewing its lease: end them (LOCAL) or adopt them (RUNPOD). */
  async reapLostRuns(): Promise<void> {
    try {
      const lost: { id: string; provider: ProviderName; provider_job_id: string | null }[] = await this.dataSource.query(
        `SELECT id, provider, provider_job_id FROM training_runs
          WHERE status IN ('STARTING', 'RUNNING') AND lease_expires_at < now() AND NOT (id = ANY($1))`,
        [[...this.active.keys()]],
      );
      for (const row of lost) {
        if (this.stopping) return;
        const adopt = row.provider === 'RUNPOD' && row.provider_job_id && this.providers.get('RUNPOD')?.resume && this.active.size < this.options.concurrency;
        if (adopt) {
          const taken = await updateReturning<{ id: string }>(
            this.dataSource,
            `UPDATE training_runs SET worker_id = $2, lease_expires_at = now() + make_interval(secs => $3)
              WHERE id = $1 AND lease_expires_at < now() RETURNING id`,
            [row.id, this.workerId, this.options.leaseSeconds],
          );
          if (taken.length === 0) continue;
          const run = await this.dataSource.getRepository(TrainingRunEntity).findOneByOrFail({ id: row.id });
          const controller = new AbortController();
          const done = this.execute(run, controller, row.provider_job_id ?? undefined)
            .catch((error: unknown) => this.log.error({ err: error, runId: run.id }, 'adopted training run ended with an unexpected error'))
            .finally(() => this.active.delete(run.id));
          this.active.set(run.id, { controller, done });
          continue;
        }
        await this.dataSource
          .transaction(async (manager) => {
            await transitionRun(manager, row.id, 'FAILED', { reason: 'worker lost: the server process running it stopped answering' });
            await this.announce(manager, row.id, true);
          })
          .catch(() => undefined); // another reaper got there first
      }
    } catch (error) {
      this.log.warn({ err: error }, 'could not check for lost training runs');
    }
  }

  private announce(query: { query(sql: string, parameters?: unknown[]): Promise<unknown> }, runId: string, final: boolean): Promise<void> {
    return this.notifications.notify(query, TRAINING_CHANNEL, encodeTrainingEvent({ type: 'changed', runId, final }));
  }
}

function finalStatusOf(outcome: JobOutcome | null, failure: string | null, signal: AbortSignal): { status: TrainingRunStatus; reason: string | null } {
  if (!outcome) return { status: 'FAILED', reason: failure ?? 'the provider failed' };
  switch (outcome.status) {
    case 'SUCCEEDED':
      return { status: 'SUCCEEDED', reason: null };
    case 'FAILED':
      return { status: 'FAILED', reason: outcome.failureReason };
    case 'TIMED_OUT':
      return { status: 'TIMED_OUT', reason: outcome.failureReason ?? 'the provider timed the job out' };
    case 'ABORTED': {
      const why = signal.reason as AbortReason | undefined;
      if (why === 'TIMED_OUT') return { status: 'TIMED_OUT', reason: 'reached its timeout' };
      if (why === 'BUDGET_EXCEEDED') return { status: 'BUDGET_EXCEEDED', reason: 'reached its budget' };
      if (why === 'SHUTDOWN') return { status: 'FAILED', reason: 'server shut down during the run' };
      return { status: 'CANCELLED', reason: 'stopped by the vendor' };
    }
  }
}
