import type { DataSource } from 'typeorm';
import type { Logger } from '../../logger';
import type { Notifications, Queryable } from '../../db/notifications';
import type { BlobStore, SignedLinks } from '../../storage';
import { Leases, WorkerPool, newWorkerId } from '../../jobs';
import type { AbortReason, ComputeProvider, JobEvents, JobOutcome, ProviderName } from '../../providers/provider';
import { TrainingRunEntity } from './training-run.entity';
import { updateReturning } from '../../db/returning';
import { noteInHistory, transitionRun } from './run-status';
import { LogWriter, type LiveLogs } from './log-writer';
import { recordedCost } from './run-cost';
import { TRAINING_CHANNEL, decodeTrainingEvent, encodeTrainingEvent } from './training-events';
import { assembleJob, storeArtifacts } from './job-assembly';
import { RunMeter } from './run-meter';
import { finalStatusOf } from './run-outcome';
import { runpodNeedsPublicUrl } from './training-commands';

export interface TrainingWorkerOptions {
  concurrency: number;
  perVendorConcurrency: number;
  leaseSeconds: number;
  /** Values to mask in stored log lines besides our token formats (RUNPOD_API_KEY...). */
  secrets: string[];
  /** Base URL the compute provider fetches signed round files from (MP_PUBLIC_URL, else the listen URL). */
  publicBaseUrl: () => string;
  /** MP_PUBLIC_URL is set; RUNPOD runs are refused without it (see runpodNeedsPublicUrl). */
  publicUrlSet: boolean;
  /** This process's followers of live logs, handed each stored batch directly. */
  liveLogs?: LiveLogs;
  /**
   * Commit log batches without waiting for the WAL flush: only on a PostgreSQL server, which
   * outlives this process. The embedded database dies with it, so there they stay synchronous.
   */
  asyncLogCommit?: boolean;
}

/** A run this process works on: claimed from the queue, or adopted with the RunPod job to follow. */
interface HeldRun {
  id: string;
  run: TrainingRunEntity;
  resumeJobId?: string;
}

/** What stop() needs to know of a run executing here: a RUNPOD job once submitted is handed over, not stopped. */
interface Executing {
  provider: ProviderName;
  providerJobId: string | undefined;
}

/**
 * Runs queued training runs on their compute provider. Any number of server processes run
 * one each: a run is claimed with FOR UPDATE SKIP LOCKED (so it executes exactly once)
 * and leased; the holder renews the lease while the run is active (server/jobs). Policy for a
 * lost worker: when a lease expires (the process died), any worker's reaper ends the run as
 * FAILED "worker lost" and has its provider clean up what the run left on this machine, unless
 * it is a RunPod job, which a worker adopts and follows on.
 * The reaper runs in every process, not once per cluster: adoption needs a process with room.
 * A process that shuts down (SIGTERM) hands its RunPod runs over: it stops following them,
 * stores their lines, releases their leases and says so (NOTIFY), and another process (or this
 * one after its restart) adopts them at once; its LOCAL runs end FAILED, as their programs do.
 */
export class TrainingWorker {
  readonly workerId = newWorkerId();
  private readonly leases: Leases;
  private readonly pool: WorkerPool<HeldRun>;
  private timers: NodeJS.Timeout[] = [];
  private stopListening?: () => Promise<void>;
  private readonly executing = new Map<string, Executing>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly notifications: Notifications,
    private readonly providers: Map<ProviderName, ComputeProvider>,
    private readonly blobs: BlobStore,
    private readonly links: SignedLinks,
    private readonly log: Logger,
    private readonly options: TrainingWorkerOptions,
  ) {
    this.leases = new Leases(dataSource, {
      table: 'training_runs',
      active: "status IN ('STARTING', 'RUNNING')",
      leaseSeconds: options.leaseSeconds,
      workerId: this.workerId,
    });
    this.pool = new WorkerPool<HeldRun>({
      concurrency: options.concurrency,
      claim: async () => {
        const run = await this.claim();
        return run ? { id: run.id, run } : null;
      },
      execute: (held, controller) => this.execute(held.run, controller, held.resumeJobId),
      log,
      noun: 'training run',
    });
  }

  async start(): Promise<void> {
    this.stopListening = await this.notifications.listen(TRAINING_CHANNEL, (payload) => {
      const event = decodeTrainingEvent(payload);
      if (event?.type === 'queued') void this.pool.fill();
      if (event?.type === 'stop') this.pool.abort(event.runId, 'CANCELLED' satisfies AbortReason);
      if (event?.type === 'handover') void this.reapLostRuns();
    });
    this.timers.push(setInterval(() => void this.renewLeases(), this.leases.heartbeatMs));
    this.timers.push(setInterval(() => void this.reapLostRuns(), this.leases.heartbeatMs));
    this.timers.push(setInterval(() => void this.pool.fill(), 2000));
    for (const timer of this.timers) timer.unref();
    void this.reapLostRuns().then(() => this.pool.fill());
  }

  /**
   * Stop claiming; hand RunPod jobs over (they go on at RunPod for another process to follow);
   * abort the rest (they end FAILED "server shut down during the run"); wait for all of it.
   */
  stop(): Promise<void> {
    this.stopping ??= this.stopHere();
    return this.stopping;
  }

  private stopping: Promise<void> | undefined;

  private async stopHere(): Promise<void> {
    // First of all: nothing new is claimed or adopted while the rest shuts down.
    this.pool.stopClaiming();
    for (const timer of this.timers) clearInterval(timer);
    await this.stopListening?.();
    await this.reaping;
    for (const [id, held] of this.executing) {
      if (held.provider === 'RUNPOD' && held.providerJobId) this.pool.abort(id, 'HANDOVER' satisfies AbortReason);
    }
    await this.pool.stop('SHUTDOWN' satisfies AbortReason);
  }

  activeRunIds(): string[] {
    return this.pool.ids();
  }

  private async claim(): Promise<TrainingRunEntity | null> {
    return this.dataSource.transaction(async (manager) => {
      const id = await this.leases.claimNext(
        manager,
        `status = 'QUEUED' AND (SELECT count(*) FROM training_runs busy
           WHERE busy.vendor_id = training_runs.vendor_id AND busy.status IN ('STARTING', 'RUNNING')) < $1`,
        'queued_at, id',
        [this.options.perVendorConcurrency],
      );
      if (!id) return null;
      const run = await transitionRun(manager, id, 'STARTING', {
        workerId: this.workerId,
        leaseSeconds: this.options.leaseSeconds,
        reason: `claimed by ${this.workerId}`,
      });
      await this.announce(manager, run.id, false);
      return run;
    });
  }

  /** One run, from job assembly through the provider to the recorded outcome; `resumeJobId` follows an adopted RunPod job. */
  private async execute(run: TrainingRunEntity, controller: AbortController, resumeJobId?: string): Promise<void> {
    const executing: Executing = { provider: run.provider, providerJobId: resumeJobId };
    this.executing.set(run.id, executing);
    try {
      await this.executeHere(run, controller, executing, resumeJobId);
    } finally {
      this.executing.delete(run.id);
    }
  }

  private async executeHere(run: TrainingRunEntity, controller: AbortController, executing: Executing, resumeJobId?: string): Promise<void> {
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
    let meter: RunMeter | undefined;
    let pricePerHourUsd: string | null = null;
    let markedRunning: Promise<void> = Promise.resolve();
    let outcome: JobOutcome | null = null;
    let failure: string | null = null;
    try {
      if (!provider) throw new Error(`the ${run.provider} provider is not configured on this server`);
      if (run.provider === 'RUNPOD' && !this.options.publicUrlSet) throw new Error(runpodNeedsPublicUrl().message);
      const job = await assembleJob(this.dataSource, this.links.at(this.options.publicBaseUrl()), run, provider);
      pricePerHourUsd = job.gpuType.pricePerHourUsd;
      meter = new RunMeter(run, job.gpuType.pricePerHourUsd, controller, (cost) => {
        void this.dataSource
          .query('UPDATE training_runs SET cost_usd = $2 WHERE id = $1', [run.id, cost])
          .then(() => this.announce(this.dataSource, run.id, false))
          .catch(() => undefined);
      });
      const running = meter;
      const events: JobEvents = {
        submitted: async (providerJobId) => {
          await this.dataSource.query('UPDATE training_runs SET provider_job_id = $2 WHERE id = $1', [run.id, providerJobId]);
          executing.providerJobId = providerJobId;
        },
        running: () => {
          if (!running.markRunning()) return;
          markedRunning = this.dataSource
            .transaction(async (manager) => {
              await transitionRun(manager, run.id, 'RUNNING', { reason: null });
              await this.announce(manager, run.id, false);
            })
            .catch((error: unknown) => this.log.warn({ err: error, runId: run.id }, 'could not mark the run RUNNING'));
        },
        executed: (seconds) => running.executed(seconds),
        log: (stream, line) => logs.write(stream, line),
        metric: (name, step, value) => logs.metric(name, step, value),
      };
      logs.write(
        'system',
        `run ${run.id} on ${run.provider} (${job.gpuType.displayName}), round ${run.roundNumber}, timeout ${run.timeoutSeconds} s, budget $${run.maxBudgetUsd}`,
      );
      outcome =
        resumeJobId && provider.resume
          ? await provider.resume(job, resumeJobId, events, controller.signal)
          : await provider.run(job, events, controller.signal);
      await storeArtifacts(this.dataSource, this.blobs, this.log, run.id, outcome);
    } catch (error) {
      failure = (error as Error).message;
      this.log.error({ err: error, runId: run.id }, 'training run failed in the worker');
    } finally {
      meter?.stop();
      await provider?.cleanup?.(run.id).catch((error: unknown) => this.log.warn({ err: error, runId: run.id }, 'could not clean up after a training run'));
    }

    const runningSince = meter?.runningSince ?? null;
    const reported = outcome?.executionSeconds ?? null;
    const cost = recordedCost({
      pricePerHourUsd,
      executionSeconds: reported ?? (runningSince ? (Date.now() - runningSince) / 1000 : 0),
      measuredBy:
        reported === null ? 'measured here from when it started running' : run.provider === 'RUNPOD' ? "RunPod's executionTime" : 'measured by the provider',
      maxBudgetUsd: run.maxBudgetUsd,
      unknown: outcome?.costUnknown,
    });
    const { status, reason: rawReason } = finalStatusOf(outcome, failure, controller.signal);
    // A failure reason may quote the program's stderr: it is masked like the log lines.
    const reason = rawReason === null ? null : logs.masked(rawReason).slice(0, 1000);
    if (controller.signal.reason === 'LEASE_LOST') {
      this.log.warn({ runId: run.id }, 'another process took over this training run; stopped following it here');
      return;
    }
    if (controller.signal.reason === 'HANDOVER' && executing.providerJobId && outcome?.status === 'ABORTED') {
      await markedRunning;
      await this.handOver(run, executing.providerJobId, logs, meter);
      return;
    }
    await markedRunning;
    logs.write('system', `run ${status}${reason ? `: ${reason}` : ''} (cost ${cost.summary})`);
    if (cost.costNote) logs.write('system', `cost: ${cost.costNote}`);
    await logs.flush();
    try {
      await this.dataSource.transaction(async (manager) => {
        await transitionRun(manager, run.id, status, {
          reason,
          exitCode: outcome?.exitCode ?? null,
          costUsd: cost.costUsd,
          costStatus: cost.costStatus,
          costNote: cost.costNote === null ? null : logs.masked(cost.costNote),
        });
        await this.announce(manager, run.id, true);
      });
    } catch (error) {
      // Already final (e.g. stopped while queued and claimed at once): nothing more to record.
      this.log.warn({ err: error, runId: run.id }, 'could not record the end of a training run');
    }
  }

  /**
   * This process shuts down: store the run's lines and cost so far, then release its lease with a
   * history entry and tell the other processes, one of which adopts it at once.
   */
  private async handOver(run: TrainingRunEntity, providerJobId: string, logs: LogWriter, meter: RunMeter | undefined): Promise<void> {
    logs.write('system', `this server process is shutting down: RunPod job ${providerJobId} keeps running and another process follows it`);
    await logs.flush();
    const costUsd = meter?.costSoFar();
    try {
      await this.dataSource.transaction(async (manager) => {
        // Only a lease still ours is released (one lost meanwhile belongs to its new holder).
        const released = await updateReturning<{ id: string }>(
          manager,
          `UPDATE training_runs SET lease_expires_at = now(), cost_usd = COALESCE($3, cost_usd)
            WHERE id = $1 AND worker_id = $2 AND status IN ('STARTING', 'RUNNING') RETURNING id`,
          [run.id, this.workerId, costUsd ?? null],
        );
        if (released.length === 0) return;
        await noteInHistory(manager, run.id, `handed over by ${this.workerId} (shutting down)`);
        await this.notifications.notify(manager, TRAINING_CHANNEL, encodeTrainingEvent({ type: 'handover', runId: run.id }));
        await this.announce(manager, run.id, false);
      });
      this.log.info({ runId: run.id, providerJobId }, 'handed a RunPod training run over at shutdown');
    } catch (error) {
      // Its lease lapses on its own: another process adopts it then.
      this.log.warn({ err: error, runId: run.id }, 'could not hand a training run over; it is adopted once its lease lapses');
    }
  }

  private async renewLeases(): Promise<void> {
    const ids = this.pool.ids();
    try {
      const ours = await this.leases.renew(ids);
      // A run whose lease another process took (we stalled too long) is no longer ours: stop it without recording an end.
      for (const id of ids) if (!ours.has(id)) this.pool.abort(id, 'LEASE_LOST' satisfies AbortReason);
    } catch (error) {
      this.log.warn({ err: error }, 'could not renew training leases');
    }
  }

  private reaping: Promise<void> = Promise.resolve();

  /** Runs whose worker stopped renewing its lease: end them (LOCAL) or adopt them (RUNPOD). */
  reapLostRuns(): Promise<void> {
    this.reaping = this.reaping.then(() => this.reapOnce());
    return this.reaping;
  }

  private async reapOnce(): Promise<void> {
    try {
      const lost = await this.leases.lapsed<{ id: string; provider: ProviderName; provider_job_id: string | null }>(
        'id, provider, provider_job_id',
        this.pool.ids(),
      );
      for (const row of lost) {
        if (this.pool.stopped) return;
        const adopt = row.provider === 'RUNPOD' && row.provider_job_id && this.providers.get('RUNPOD')?.resume && !this.pool.full;
        if (adopt) {
          if (!(await this.leases.adopt(row.id))) continue;
          await noteInHistory(this.dataSource, row.id, `adopted by ${this.workerId}`);
          const run = await this.dataSource.getRepository(TrainingRunEntity).findOneByOrFail({ id: row.id });
          // Refused only when this process began to stop meanwhile: the lease lapses again for another to take.
          this.pool.adopt({ id: run.id, run, resumeJobId: row.provider_job_id ?? undefined });
          continue;
        }
        const ended = await this.dataSource
          .transaction(async (manager) => {
            await transitionRun(manager, row.id, 'FAILED', { reason: 'worker lost: the server process running it stopped answering' });
            await this.announce(manager, row.id, true);
          })
          .then(() => true)
          .catch(() => false); // another reaper got there first
        // Its program may still be running on this machine (a server that hung rather than died, or
        // a supervisor killed with its server): a run that ended does not keep it, nor its directory.
        if (ended) {
          await this.providers
            .get(row.provider)
            ?.cleanup?.(row.id)
            .catch((error: unknown) => this.log.warn({ err: error, runId: row.id }, 'could not clean up after a lost training run'));
        }
      }
    } catch (error) {
      this.log.warn({ err: error }, 'could not check for lost training runs');
    }
  }

  private announce(query: Queryable, runId: string, final: boolean): Promise<void> {
    return this.notifications.notify(query, TRAINING_CHANNEL, encodeTrainingEvent({ type: 'changed', runId, final }));
  }
}
