import type { RoundScoresFieldsFragment } from '../generated/cli-operations';

/** A score as the leaderboard shows it: 4 decimals with its sign, `-` when undefined. */
export function formatScore(value: number | null | undefined): string {
  if (value === null || value === undefined) return '-';
  return `${value >= 0 ? '+' : ''}${value.toFixed(4)}`;
}

/** The short name of what `corr` is: numerai_corr, or the time-series fallback. */
export function corrName(scores: Pick<RoundScoresFieldsFragment, 'method'>): string {
  return scores.method === 'CROSS_SECTIONAL' ? 'corr' : 'ts_corr';
}

/** What a TIME_SERIES_CORR score was computed over: the most dates any of its symbols paired. */
export function seriesDates(scores: Pick<RoundScoresFieldsFragment, 'symbols'>): number {
  return Math.max(0, ...scores.symbols.map((symbol) => symbol.dates));
}

const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;

/** What a model's scores over one round come to, on one line. */
export function scoresLine(scores: RoundScoresFieldsFragment): string {
  const crossSectional = scores.method === 'CROSS_SECTIONAL';
  const parts = [`${corrName(scores)} ${formatScore(scores.corr.mean)}${crossSectional ? ` (sharpe ${formatScore(scores.corr.sharpe)})` : ''}`];
  if (scores.mmc) parts.push(`mmc ${formatScore(scores.mmc.mean)}`);
  if (scores.fnc) parts.push(`fnc ${formatScore(scores.fnc.mean)}`);
  parts.push(crossSectional ? plural(scores.scored, 'date') : `${plural(scores.scored, 'symbol')} over ${plural(seriesDates(scores), 'date')}`);
  if (scores.rank !== null && scores.rank !== undefined) parts.push(`rank ${scores.rank} of ${scores.rankedModels}`);
  return parts.join(', ');
}
