import type { DataSource } from 'typeorm';
import type { Logger } from '../logger';

interface PeriodicTask {
  name: string;
  intervalMs: number;
  run(): Promise<unknown>;
}

/**
 * Periodic work that runs once per period across the whole cluster, not once per process:
 * every process looks often, and the one whose conditional UPSERT moves the task's
 * `next_run_at` forward runs it. A process that dies mid-task leaves it to the next period, so
 * tasks are housekeeping that is safe to repeat (purging expired records, say).
 *
 * Why not pg-boss 10: it would add its own schema, a maintenance loop and a poll per queue on
 * every process, and on the embedded database all of that shares one serialized PGlite
 * session with our requests; a row per task with an atomic claim is all these tasks need.
 * Queued work with leases (training runs) stays in its own table (see Leases), where the
 * claim can join the domain's rows (per-vendor limits) in one statement.
 */
export class ClusterSchedule {
  private readonly tasks: PeriodicTask[] = [];
  private timer?: NodeJS.Timeout;
  private readonly looking = new Set<Promise<string[]>>();
  private stopped = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly log: Logger,
    private readonly workerId: string,
    /** How often each process looks for due tasks. */
    private readonly lookMs = 5_000,
  ) {}

  /** Runs `run` about every `intervalMs` somewhere in the cluster. Register before start(). */
  every(name: string, intervalMs: number, run: () => Promise<unknown>): void {
    if (this.tasks.some((task) => task.name === name)) throw new Error(`periodic task ${name} is registered twice`);
    this.tasks.push({ name, intervalMs, run });
  }

  start(): void {
    if (this.tasks.length === 0) return;
    this.timer = setInterval(() => void this.runDue(), this.lookMs);
    this.timer.unref();
    void this.runDue();
  }

  /** Stops looking; resolves once a look in progress (its claims and tasks) has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await Promise.allSettled([...this.looking]);
  }

  /** Claims and runs every task that is due; resolves when they have run. Returns the names run here. */
  runDue(): Promise<string[]> {
    const look = this.lookOnce();
    this.looking.add(look);
    return look.finally(() => this.looking.delete(look));
  }

  private async lookOnce(): Promise<string[]> {
    const ran: string[] = [];
    for (const task of this.tasks) {
      if (this.stopped) break;
      try {
        if (!(await this.claim(task)) || this.stopped) continue;
        ran.push(task.name);
        await task.run();
      } catch (error) {
        this.log.warn({ err: error, task: task.name }, 'a periodic task failed; it runs again next period');
      }
    }
    return ran;
  }

  private async claim(task: PeriodicTask): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `INSERT INTO periodic_tasks (name, next_run_at, last_started_at, last_worker)
       VALUES ($1, now() + make_interval(secs => $2), now(), $3)
       ON CONFLICT (name) DO UPDATE
         -- At a fixed rate from the last due time (not from whenever a process happened to look),
         -- so a short period keeps its rhythm across processes; after a long pause, half a period.
         SET next_run_at = GREATEST(periodic_tasks.next_run_at + make_interval(secs => $2), now() + make_interval(secs => $2 / 2)),
             last_started_at = now(), last_worker = EXCLUDED.last_worker
         WHERE periodic_tasks.next_run_at <= now()
       RETURNING name`,
      [task.name, task.intervalMs / 1000, this.workerId],
    );
    return rows.length > 0;
  }
}
