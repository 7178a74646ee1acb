import { createHash } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { DomainError } from '../../domain-error';
import type { Notifications } from '../../db/notifications';
import { createOnce, normalizeIdempotencyKey } from '../../idempotency';
import type { SignalWriteResult } from '../../../generated/server-types';
import type { DeploymentCaller } from '../deployments/token-validator';
import type { Principal } from '../identity/principal';
import { checkBatch, MAX_SIGNALS_PER_WRITE, type AcceptedSignal, type OpenRound, type Rejection } from './signal-batch';

/** Every process hears each stored batch on this channel (payload: SignalsStored). */
export const SIGNALS_CHANNEL = 'mp_signals_stored';

export interface SignalsStored {
  /** The writer's key: the deployment's id, or the model's for an upload. */
  writerKey: string;
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

/** Who a batch is stored for: the key of the table (a deployment, or the model for an upload), the vendor and the model. */
export interface SignalWriter {
  key: string;
  vendorId: string;
  /** The model an upload is for; null: the model the deployment is registered for, if any. */
  modelId: string | null;
  source: 'DEPLOYMENT' | 'UPLOAD';
}

/** An upload must cover this many symbols per date (Numerai Signals asks 100), or all of a smaller universe. */
export const MIN_UPLOAD_SYMBOLS = 100;

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
    const writer: SignalWriter = { key: caller.deploymentId, vendorId: caller.vendorId, modelId: null, source: 'DEPLOYMENT' };
    return this.writeAs(writer, 'writeSignals', signals, idempotencyKey);
  }

  /** pushSignals: a vendor uploads predictions for one of its own models (BYOC), whole dates at a time. */
  async push(principal: Principal | null, modelRef: string, signals: readonly unknown[], idempotencyKey?: string | null): Promise<Answer> {
    if (!principal) throw new DomainError('UNAUTHENTICATED', 'uploading signals needs your API key (mp login)');
    if (principal.role !== 'VENDOR' || !principal.vendorId) throw new DomainError('FORBIDDEN', "signals are uploaded with the model's vendor's API key");
    const ref = modelRef.trim();
    const [model] = (await this.dataSource.query(`SELECT id FROM catalog_models WHERE vendor_id = $1 AND (id = $2 OR slug = $2)`, [
      principal.vendorId,
      ref,
    ])) as {
      id: string;
    }[];
    if (!model) throw new DomainError('NOT_FOUND', `no model ${ref} among yours: register it first (mp register --name ...)`);
    const writer: SignalWriter = { key: model.id, vendorId: principal.vendorId, modelId: model.id, source: 'UPLOAD' };
    return this.writeAs(writer, 'pushSignals', signals, idempotencyKey);
  }

  private async writeAs(writer: SignalWriter, operation: string, signals: readonly unknown[], idempotencyKey?: string | null): Promise<Answer> {
    if (signals.length < 1 || signals.length > MAX_SIGNALS_PER_WRITE) {
      throw new DomainError('BAD_USER_INPUT', `signals: 1 to ${MAX_SIGNALS_PER_WRITE} in one write (got ${signals.length}); split the batch`, {
        fields: [{ field: 'signals', message: `1 to ${MAX_SIGNALS_PER_WRITE} signals` }],
      });
    }
    const key = normalizeIdempotencyKey(idempotencyKey);
    const request = {
      scope: writer.key,
      operation,
      key,
      requestHash: createHash('sha256').update(JSON.stringify(signals)).digest('hex'),
      describe: () => 'another batch of signals',
    };
    // The first answer is kept where other operations keep the id of what they created.
    const { id: stored } = await createOnce(this.dataSource, request, async (manager) => JSON.stringify(await this.store(manager, writer, signals)));
    return JSON.parse(stored) as Answer;
  }

  private async store(manager: EntityManager, writer: SignalWriter, signals: readonly unknown[]): Promise<Answer> {
    const round = await openRound(manager);
    const { accepted, rejected } = checkBatch(signals, round);
    if (writer.source === 'UPLOAD') checkUploadCoverage(accepted, round);
    const answer: Answer = { round: round.number, written: 0, revised: 0, unchanged: 0, rejected };
    if (accepted.length === 0) return answer;
    const rows = await upsertSignals(manager, writer, round.number, accepted);
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
        writerKey: writer.key,
        vendorId: writer.vendorId,
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
 * Numerai Signals' rule for submissions: each date uploaded covers enough of the universe, so a
 * model is not scored on a handful of symbols it picked. The whole batch is refused otherwise.
 */
function checkUploadCoverage(accepted: AcceptedSignal[], round: OpenRound): void {
  const required = Math.min(MIN_UPLOAD_SYMBOLS, round.symbols.size);
  const perDate = new Map<string, Set<string>>();
  for (const signal of accepted) {
    const date = signal.asOf.toISOString().slice(0, 10);
    const symbols = perDate.get(date) ?? new Set<string>();
    symbols.add(signal.symbol);
    perDate.set(date, symbols);
  }
  const short = [...perDate].filter(([, symbols]) => symbols.size < required);
  if (short.length > 0) {
    const [date, symbols] = short[0];
    throw new DomainError(
      'BAD_USER_INPUT',
      `an upload needs predictions for at least ${required} of round ${round.number}'s ${round.symbols.size} symbols on each date, ` +
        `but ${date} has ${symbols.size}${short.length > 1 ? ` (and ${short.length - 1} more dates are short)` : ''}; nothing was stored`,
      { fields: [{ field: 'signals', message: `at least ${required} symbols per date` }] },
    );
  }
}

/**
 * One statement for the batch. Every part of it sees the table as it was before, so `previous`
 * is what was stored (if anything) and `stored` says whether this statement inserted or revised
 * the row; a row neither stored nor found was written by a concurrent request meanwhile.
 */
export function upsertSignals(manager: Pick<EntityManager, 'query'>, writer: SignalWriter, round: number, accepted: AcceptedSignal[]): Promise<Classified[]> {
  return manager.query(
    `WITH input AS (
       SELECT * FROM unnest($1::int[], $2::text[], $3::timestamptz[], $4::int[], $5::float8[], $6::float8[])
         AS t(pos, symbol, as_of, horizon_days, score, confidence)
     ),
     stored AS (
       INSERT INTO signals AS s (deployment_id, vendor_id, model_id, round_number, symbol, as_of, horizon_days, score, confidence, written_at, source)
       SELECT $7, $8, COALESCE($10::text, (SELECT id FROM catalog_models WHERE deployment_id = $7 LIMIT 1)), $9, symbol, as_of, horizon_days, score, confidence, now(), $11
         FROM input
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
      writer.key,
      writer.vendorId,
      round,
      writer.modelId,
      writer.source,
    ],
  );
}
