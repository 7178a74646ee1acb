import type { DataSource, EntityManager } from 'typeorm';
import type { Notifications, Queryable } from '../../../db/notifications';
import { updateReturning } from '../../../db/returning';
import { DomainError } from '../../../domain-error';
import type { Principal } from '../../identity/principal';
import { newWorkerId, WorkerPool } from '../../../jobs';
import type { Logger } from '../../../logger';
import type { DatasetsService } from '../../datasets/datasets.service';
import { scoreStoredRound, type ScoredRound } from './round-scorer';

/** Sent when a round is queued for scoring: every process tries to claim it. */
const QUEUE_CHANNEL = 'mp_round_scoring';
/** A scoring whose process died is taken over after this long. Scoring a 500-symbol round takes seconds. */
const LEASE_SECONDS = 300;
const MAX_ATTEMPTS = 3;
/** How often each process looks for due scorings (rounds resolved elsewhere, lapsed leases). */
const LOOK_MS = 5_000;

export interface RoundScoringRow {
  round: number;
  status: 'QUEUED' | 'RUNNING' | 'DONE' | 'FAILED';
  models: number | null;
  method: string | null;
  error: string | null;
  queuedAt: Date;
  finishedAt: Date | null;
}

const COLUMNS = `round_number AS round, status, models, method, error, queued_at AS "queuedAt", finished_at AS "finishedAt"`;

/** Queues a round's scoring (again): in `manager`'s transaction when given, so it commits with the round's resolution. */
export async function queueRoundScoring(db: Pick<EntityManager, 'query'>, notifications: Notifications, round: number, by: string): Promise<RoundScoringRow> {
  const [row] = await updateReturning<RoundScoringRow>(
    db,
    `INSERT INTO round_scorings (id, round_number, status, requested_by) VALUES ($1, $2, 'QUEUED', $3)
     ON CONFLICT (round_number) DO UPDATE
       SET status = 'QUEUED', requested_by = EXCLUDED.requested_by, queued_at = now(), attempts = 0, error = NULL, finished_at = NULL
     RETURNING ${COLUMNS}`,
    [`rsc_${round}`, round, by],
  );
  await notifications.notify(db, QUEUE_CHANNEL, String(round));
  return row;
}

/** A round scored outside the queue (the demo seed): its row says DONE, so no process scores it again. */
export async function recordScored(db: Queryable, round: number, scored: ScoredRound, by: string): Promise<void> {
  await db.query(
    `INSERT INTO round_scorings (id, round_number, status, requested_by, models, method, started_at, finished_at)
     VALUES ($1, $2, 'DONE', $3, $4, $5, now(), now())
     ON CONFLICT (round_number) DO UPDATE SET status = 'DONE', models = EXCLUDED.models, method = EXCLUDED.method, finished_at = now()`,
    [`rsc_${round}`, round, by, scored.models, scored.method],
  );
}

export async function roundScoring(db: Queryable, round: number): Promise<RoundScoringRow | null> {
  const rows = (await db.query(`SELECT ${COLUMNS} FROM round_scorings WHERE round_number = $1`, [round])) as RoundScoringRow[];
  return rows[0] ?? null;
}

/**
 * The cluster-wide scoring job. A resolved round is queued in the transaction that resolves it (or
 * found by the next look, when it was resolved by `mp-server rounds resolve` on a stopped server);
 * one process claims it (FOR UPDATE SKIP LOCKED) and holds a lease; a lapsed lease is claimed again,
 * up to MAX_ATTEMPTS. Scoring replaces the round's rows, so running twice is harmless.
 */
export class ScoringQueue {
  readonly workerId = newWorkerId();
  private readonly pool: WorkerPool<{ id: string; round: number }>;
  private timer?: NodeJS.Timeout;
  private stopListening?: () => Promise<void>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly notifications: Notifications,
    private readonly datasets: DatasetsService,
    private readonly log: Logger,
  ) {
    this.pool = new WorkerPool({
      concurrency: 1,
      claim: () => this.claim(),
      execute: (job) => this.execute(job.round),
      log,
      noun: 'round scoring',
    });
    datasets.onResolved((manager: EntityManager, round) => queueRoundScoring(manager, notifications, round.number, 'round resolved').then(() => undefined));
  }

  /** The scoreRound mutation: an admin queues a RESOLVED round again. */
  async request(principal: Principal | null, round: number): Promise<RoundScoringRow> {
    requireAdmin(principal);
    const [row] = (await this.dataSource.query(`SELECT status FROM dataset_rounds WHERE number = $1`, [round])) as { status: string }[];
    if (!row) throw new DomainError('NOT_FOUND', `no round ${round}`);
    if (row.status !== 'RESOLVED')
      throw new DomainError('PRECONDITION_FAILED', `round ${round} is ${row.status}: only a RESOLVED round has scores (mp-server rounds resolve ${round})`);
    return queueRoundScoring(this.dataSource, this.notifications, round, `admin key ${principal!.apiKeyId}`);
  }

  status(principal: Principal | null, round: number): Promise<RoundScoringRow | null> {
    requireAdmin(principal);
    return roundScoring(this.dataSource, round);
  }

  async start(): Promise<void> {
    this.stopListening = await this.notifications.listen(QUEUE_CHANNEL, () => void this.pool.fill());
    this.timer = setInterval(() => void this.pool.fill(), LOOK_MS);
    this.timer.unref();
    void this.pool.fill();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.stopListening?.();
    await this.pool.stop('server shutting down');
  }

  /** Runs until nothing is due (tests, the demo seed). */
  async drain(): Promise<void> {
    while (await this.claimAndRun());
  }

  private async claimAndRun(): Promise<boolean> {
    const job = await this.claim();
    if (!job) return false;
    await this.execute(job.round);
    return true;
  }

  private async claim(): Promise<{ id: string; round: number } | null> {
    // A round resolved while no server ran (or before this table existed) has no row yet.
    await this.dataSource.query(
      `INSERT INTO round_scorings (id, round_number, status, requested_by)
       SELECT 'rsc_' || r.number, r.number, 'QUEUED', 'found resolved' FROM dataset_rounds r
        WHERE r.status = 'RESOLVED' AND NOT EXISTS (SELECT 1 FROM round_scorings s WHERE s.round_number = r.number)
       ON CONFLICT (round_number) DO NOTHING`,
    );
    await this.dataSource.query(
      `UPDATE round_scorings SET status = 'FAILED', finished_at = now(),
              error = COALESCE(error, 'its scoring process stopped ' || attempts || ' times before finishing')
        WHERE status = 'RUNNING' AND lease_expires_at < now() AND attempts >= $1`,
      [MAX_ATTEMPTS],
    );
    const [claimed] = await updateReturning<{ id: string; round: number }>(
      this.dataSource,
      `UPDATE round_scorings SET status = 'RUNNING', worker_id = $1, lease_expires_at = now() + make_interval(secs => $2),
              attempts = attempts + 1, started_at = now()
        WHERE id = (SELECT id FROM round_scorings
                     WHERE status = 'QUEUED' OR (status = 'RUNNING' AND lease_expires_at < now())
                     ORDER BY queued_at LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING id, round_number AS round`,
      [this.workerId, LEASE_SECONDS],
    );
    return claimed ?? null;
  }

  private async execute(round: number): Promise<void> {
    try {
      const scored = await scoreStoredRound(this.dataSource, this.notifications, this.datasets, round);
      await this.finish(round, { status: 'DONE', models: scored.models, method: scored.method, error: null });
      this.log.info({ round, models: scored.models, method: scored.method }, 'round scored');
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.log.error({ err: error, round }, 'scoring a round failed');
      await this.finish(round, { status: 'FAILED', models: null, method: null, error: message.slice(0, 500) });
    }
  }

  /** Only while still ours: a round queued again meanwhile stays QUEUED and is scored once more. */
  private async finish(round: number, outcome: Pick<RoundScoringRow, 'status' | 'models' | 'method' | 'error'>): Promise<void> {
    await this.dataSource.query(
      `UPDATE round_scorings SET status = $3, models = $4, method = $5, error = $6, finished_at = now(), lease_expires_at = NULL
        WHERE round_number = $1 AND worker_id = $2 AND status = 'RUNNING'`,
      [round, this.workerId, outcome.status, outcome.models, outcome.method, outcome.error],
    );
  }
}

function requireAdmin(principal: Principal | null): void {
  if (principal?.role !== 'ADMIN') throw new DomainError('FORBIDDEN', 'scoring rounds needs an operator (admin) key');
}
