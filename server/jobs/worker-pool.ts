import type { Logger } from '../logger';

interface Active {
  controller: AbortController;
  done: Promise<void>;
}

export interface WorkerPoolOptions<Job extends { id: string }> {
  /** Jobs this process runs at once. */
  concurrency: number;
  /** Claims the next job (and leases it), or null when there is none. */
  claim(): Promise<Job | null>;
  /** Runs a job to its end. `controller.abort(reason)` asks it to stop; it resolves once it has. */
  execute(job: Job, controller: AbortController): Promise<void>;
  log: Logger;
  /** What the log calls a job ("training run"). */
  noun: string;
}

/**
 * A process's share of a cluster-wide queue: it claims jobs while it has room, runs each with
 * an AbortController, and claims again when one ends. Claims are serialized in this process
 * (one claim loop at a time); across processes the claim itself (FOR UPDATE SKIP LOCKED, see
 * Leases.claimNext) gives each job to exactly one.
 */
export class WorkerPool<Job extends { id: string }> {
  private readonly active = new Map<string, Active>();
  private claiming = false;
  private stopping = false;
  private claimLoop: Promise<void> = Promise.resolve();

  constructor(private readonly options: WorkerPoolOptions<Job>) {}

  get size(): number {
    return this.active.size;
  }

  get full(): boolean {
    return this.active.size >= this.options.concurrency;
  }

  get stopped(): boolean {
    return this.stopping;
  }

  ids(): string[] {
    return [...this.active.keys()];
  }

  /** Asks a running job to stop (no-op when it does not run here). */
  abort(id: string, reason: string): void {
    this.active.get(id)?.controller.abort(reason);
  }

  /** Claims until full or the queue is empty; concurrent calls share the running loop. */
  fill(): Promise<void> {
    if (this.claiming || this.stopping) return this.claimLoop;
    this.claiming = true;
    this.claimLoop = this.claimUntilFull();
    return this.claimLoop;
  }

  /** Runs a job this process took over from another (its lease lapsed); false once stopping. */
  adopt(job: Job): boolean {
    if (this.stopping) return false;
    this.run(job, `adopted ${this.options.noun}`);
    return true;
  }

  /** Claims and adoptions end here and now; what runs goes on until stop(). */
  stopClaiming(): void {
    this.stopping = true;
  }

  /** Stops claiming, aborts every job with `reason` and waits for them to end. */
  async stop(reason: string): Promise<void> {
    this.stopClaiming();
    await this.claimLoop; // a claim in flight lands in `active` before the jobs are stopped
    for (const job of this.active.values()) job.controller.abort(reason);
    await Promise.all([...this.active.values()].map((job) => job.done));
  }

  private async claimUntilFull(): Promise<void> {
    try {
      while (!this.stopping && !this.full) {
        const job = await this.options.claim();
        if (!job) break;
        this.run(job, this.options.noun);
      }
    } catch (error) {
      this.options.log.error({ err: error }, `could not claim a ${this.options.noun}`);
    } finally {
      this.claiming = false;
    }
  }

  private run(job: Job, what: string): void {
    const controller = new AbortController();
    const done = this.options
      .execute(job, controller)
      .catch((error: unknown) => this.options.log.error({ err: error, id: job.id }, `${what} ended with an unexpected error`))
      .finally(() => {
        this.active.delete(job.id);
        void this.fill();
      });
    this.active.set(job.id, { controller, done });
  }
}
