import { createHash } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { DomainError } from '../../domain-error';
import type { Notifications } from '../../db/notifications';
import { createOnce, normalizeIdempotencyKey } from '../../idempotency';
import type { SignalWriteResult } from '../../../generated/server-types';
import type { DeploymentCaller } from '../deployments/token-validator';
import { checkBatch, MAX_SIGNALS_PER_WRITE, type AcceptedSignal, type OpenRound, type Rejection } from './signal-batch';

/** Every process hears each stored batch on this channel (payload: SignalsStored). */
export const SIGNALS_CHANNEL = 'mp_signals_stored';

export interface SignalsStored {
  deploymentId: string;
  vendorId: string;
  /** The transaction's now() as PostgreSQL prints it (to the microsecond): every row of the batch carries it as written_at. */
  writtenAt: string;
  symbols: string[];
}

type Answer = Omit<SignalWriteResult, '__typename' | 'rejected'> & { rejected: Rejection[] };

interface Classified {
  /** The signal's position in `accepted`. */
  pos: number;
  stored: boolean;
  previous_score: number | null;
  previous_confidence: number | null;
  /** The statement's now() as text: a Date would lose the microseconds the feed matches rows by. */
  written_at: string;
}

/**
 * Writes deployments' signals: vendor and deployment from the token, the model from the
 * deployment's registration (mp register), the round from the open one. One statement per batch (INSERT ... SELECT FROM unnest ... ON CONFLICT): a signal
 * stored before with the same values is left alone (unchanged), with other values it is revised
 * while its round is OPEN and refused as CONFLICT after. With an idempotency key the first
 * answer is kept and given again.
 */
export class SignalStore {
  constructor(
    private readonly dataSource: DataSource,
    private readonly notifications: Notifications,
  ) {}

  async write(caller: DeploymentCaller | null, signals: readonly unknown[], idempotencyKey?: string | null): Promise<Answer> {
    if (!caller) {
      throw new DomainError('FORBIDDEN', "signals are written with a deployment's own token (MP_DEPLOYMENT_TOKEN, sit_...), not an API key");
    }
    if (!caller.scopes.includes('signals:write')) throw new DomainError('FORBIDDEN', 'this deployment token lacks the signals:write scope');
    if (signals.length < 1 || signals.length > MAX_SIGNALS_PER_WRITE) {
      throw new DomainError('BAD_USER_INPUT', `signals: 1 to ${MAX_SIGNALS_PER_WRITE} in one write (got ${signals.length}); split the batch`, {
        fields: [{ field: 'signals', message: `1 to ${MAX_SIGNALS_PER_WRITE} signals` }],
      });
    }
    const key = normalizeIdempotencyKey(idempotencyKey);
    const request = {
      scope: caller.deploymentId,
      operation: 'writeSignals',
      key,
      requestHash: createHash('sha256').update(JSON.stringify(signals)).digest('hex'),
      describe: () => 'another batch of signals',
    };
    // The first answer is kept where other operations keep the id of what they created.
    const { id: stored } = await createOnce(this.dataSource, request, async (manager) => JSON.stringify(await this.store(manager, caller, signals)));
    return JSON.parse(stored) as Answer;
  }

  private async store(manager: EntityManager, caller: DeploymentCaller, signals: readonly unknown[]): Promise<Answer> {
    const round = await openRound(manager);
    const { accepted, rejected } = checkBatch(signals, round);
    const answer: Answer = { round: round.number, written: 0, revised: 0, unchanged: 0, rejected };
    if (accepted.length === 0) return answer;
    const rows = await upsert(manager, caller, round.number, accepted);
    const writtenAt = rows[0].written_at;
    for (const row of rows) {
      const signal = accepted[row.pos];
      const before = row.previous_score !== null;
      if (row.stored) {
        if (before) answer.revised += 1;
        else answer.written += 1;
      } else if (!before || (row.previous_score === signal.score && row.previous_confidence === signal.confidence)) {
        answer.unchanged += 1;
      } else {
        answer.rejected.push({
          index: signal.index,
          symbol: signal.symbol,
          reason: 'CONFLICT',
          message: `stored earlier with score ${row.previous_score} and confidence ${row.previous_confidence}, and its round no longer takes revisions`,
        });
      }
    }
    answer.rejected.sort((a, b) => a.index - b.index);
    if (answer.written + answer.revised > 0) {
      const payload: SignalsStored = {
        deploymentId: caller.deploymentId,
        vendorId: caller.vendorId,
        writtenAt,
        symbols: [...new Set(accepted.map((signal) => signal.symbol))].slice(0, 200),
      };
      await this.notifications.notify(manager, SIGNALS_CHANNEL, JSON.stringify(payload));
    }
    return answer;
  }
}

/** The newest OPEN round: its number, universe and the first day of its live period. */
async function openRound(manager: EntityManager): Promise<OpenRound> {
  const [round]: { number: number; symbols: string[]; splits: { kind: string; firstDate: string }[] }[] = await manager.query(
    `SELECT number, symbols, splits FROM dataset_rounds WHERE status = 'OPEN' ORDER BY number DESC LIMIT 1`,
  );
  if (!round)
    throw new DomainError('PRECONDITION_FAILED', 'no dataset round is open, so signals count for none: the operator opens one (mp-server rounds open)');
  const live = round.splits.find((split) => split.kind === 'LIVE');
  return { number: round.number, symbols: new Set(round.symbols), liveFrom: live?.firstDate ?? '1970-01-01' };
}

/**
 * One statement for the batch. Every part of it sees the table as it was before, so `previous`
 * is what was stored (if anything) and `stored` says whether this statement inserted or revised
 * the row; a row neither stored nor found was written by a concurrent request meanwhile.
 */
function upsert(manager: EntityManager, caller: DeploymentCaller, round: number, accepted: AcceptedSignal[]): Promise<Classified[]> {
  return manager.query(
    `WITH input AS (
       SELECT * FROM unnest($1::int[], $2::text[], $3::timestamptz[], $4::int[], $5::float8[], $6::float8[])
         AS t(pos, symbol, as_of, horizon_days, score, confidence)
     ),
     stored AS (
       INSERT INTO signals AS s (deployment_id, vendor_id, model_id, round_number, symbol, as_of, horizon_days, score, confidence, written_at)
       SELECT $7, $8, (SELECT id FROM catalog_models WHERE deployment_id = $7 LIMIT 1), $9, symbol, as_of, horizon_days, score, confidence, now() FROM input
       ON CONFLICT (deployment_id, symbol, as_of, horizon_days) DO UPDATE
         SET score = EXCLUDED.score, confidence = EXCLUDED.confidence, written_at = EXCLUDED.written_at, model_id = EXCLUDED.model_id
         WHERE (s.score, s.confidence) IS DISTINCT FROM (EXCLUDED.score, EXCLUDED.confidence)
           AND EXISTS (SELECT 1 FROM dataset_rounds r WHERE r.number = s.round_number AND r.status = 'OPEN')
       RETURNING s.symbol, s.as_of, s.horizon_days
     )
     SELECT i.pos, (st.symbol IS NOT NULL) AS stored, p.score AS previous_score, p.confidence AS previous_confidence, now()::text AS written_at
     FROM input i
     LEFT JOIN stored st ON (st.symbol, st.as_of, st.horizon_days) = (i.symbol, i.as_of, i.horizon_days)
     LEFT JOIN signals p ON p.deployment_id = $7 AND (p.symbol, p.as_of, p.horizon_days) = (i.symbol, i.as_of, i.horizon_days)`,
    [
      accepted.map((_, position) => position),
      accepted.map((signal) => signal.symbol),
      accepted.map((signal) => signal.asOf.toISOString()),
      accepted.map((signal) => signal.horizonDays),
      accepted.map((signal) => signal.score),
      accepted.map((signal) => signal.confidence),
      caller.deploymentId,
      caller.vendorId,
      round,
    ],
  );
}
