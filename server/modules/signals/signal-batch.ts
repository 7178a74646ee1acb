import { SignalWriteSchema } from '../../../generated/contracts';
import type { RejectedSignal } from '../../../generated/server-types';

/** The most signals one write may carry (SignalWriteBatch's bound). */
export const MAX_SIGNALS_PER_WRITE = 5000;
/** How far ahead of this server's clock an asOf may be (the writer's clock may run a little fast). */
const CLOCK_SKEW_MS = 5 * 60_000;

/** What a write checks its signals against: the open round. */
export interface OpenRound {
  number: number;
  symbols: ReadonlySet<string>;
  /** The first day of its live period (YYYY-MM-DD): signals about earlier dates belong to older rounds. */
  liveFrom: string;
}

export interface AcceptedSignal {
  index: number;
  symbol: string;
  asOf: Date;
  horizonDays: number;
  score: number;
  confidence: number;
}

export type Rejection = Omit<RejectedSignal, '__typename'>;

/**
 * Sorts a batch into the signals that may be stored and those refused, each with its reason: a
 * field out of the contract, a symbol outside the open round's universe, an asOf in the future or
 * before the round's live period, a key that appears earlier in the batch.
 */
export function checkBatch(signals: readonly unknown[], round: OpenRound, now = Date.now()): { accepted: AcceptedSignal[]; rejected: Rejection[] } {
  const accepted: AcceptedSignal[] = [];
  const rejected: Rejection[] = [];
  const seen = new Map<string, number>();
  const liveFrom = Date.parse(`${round.liveFrom}T00:00:00Z`);
  signals.forEach((raw, index) => {
    const symbolOf = (raw as { symbol?: unknown } | null)?.symbol;
    const symbol = typeof symbolOf === 'string' ? symbolOf : null;
    const parsed = SignalWriteSchema.safeParse(raw);
    if (!parsed.success) {
      const message = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'signal'}: ${issue.message}`).join('; ');
      rejected.push({ index, symbol, reason: 'INVALID', message });
      return;
    }
    const signal = parsed.data;
    const asOf = new Date(signal.asOf);
    if (Number.isNaN(asOf.getTime())) {
      rejected.push({ index, symbol, reason: 'INVALID', message: 'asOf: not an ISO 8601 date-time' });
      return;
    }
    if (!round.symbols.has(signal.symbol)) {
      rejected.push({ index, symbol, reason: 'UNKNOWN_SYMBOL', message: `${signal.symbol} is not in round ${round.number}'s universe` });
      return;
    }
    if (asOf.getTime() > now + CLOCK_SKEW_MS) {
      rejected.push({ index, symbol, reason: 'OUT_OF_ROUND', message: `asOf ${asOf.toISOString()} is in the future` });
      return;
    }
    if (asOf.getTime() < liveFrom) {
      rejected.push({
        index,
        symbol,
        reason: 'OUT_OF_ROUND',
        message: `asOf ${asOf.toISOString()} is before round ${round.number}'s live period (from ${round.liveFrom})`,
      });
      return;
    }
    const key = `${signal.symbol}|${asOf.getTime()}|${signal.horizonDays}`;
    const first = seen.get(key);
    if (first !== undefined) {
      rejected.push({ index, symbol, reason: 'DUPLICATE', message: `the same symbol, asOf and horizonDays as signal ${first}` });
      return;
    }
    seen.set(key, index);
    accepted.push({ index, symbol: signal.symbol, asOf, horizonDays: signal.horizonDays, score: signal.score, confidence: signal.confidence });
  });
  return { accepted, rejected };
}
