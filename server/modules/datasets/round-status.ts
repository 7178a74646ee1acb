import { DomainError } from '../../domain-error';
import type { DatasetRoundEntity, DatasetRoundStatus } from './dataset-round.entity';

/** The one state machine of a round: UPCOMING -> OPEN -> CLOSED -> RESOLVED. */
const NEXT: Record<DatasetRoundStatus, DatasetRoundStatus[]> = {
  UPCOMING: ['OPEN'],
  OPEN: ['CLOSED'],
  CLOSED: ['RESOLVED'],
  RESOLVED: [],
};

/** Move `round` to `to`, or throw PRECONDITION_FAILED; records when and by whom, and stamps the matching date. */
export function transitionRound(round: DatasetRoundEntity, to: DatasetRoundStatus, by: string, now = new Date()): void {
  if (!NEXT[round.status].includes(to)) {
    const allowed = NEXT[round.status];
    throw new DomainError(
      'PRECONDITION_FAILED',
      `round ${round.number} is ${round.status}: it ${allowed.length ? `can only become ${allowed.join(' or ')}` : 'is final'}, not ${to}`,
    );
  }
  round.statusHistory = [...round.statusHistory, { from: round.status, to, at: now.toISOString(), by }];
  round.status = to;
  if (to === 'OPEN') round.opensAt = now;
  if (to === 'CLOSED') round.closesAt = now;
  if (to === 'RESOLVED') round.resolvesAt = now;
}
