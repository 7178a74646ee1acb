import { RoundInputError } from './errors';
import { WARM_UP_ROWS } from './features';
import type { RoundSplitKind } from './types';

/** The fewest TRAIN dates a round may have. */
export const MIN_TRAIN_DATES = 20;
/** The fewest VALIDATION dates a round may have. */
export const MIN_VALIDATION_DATES = 5;

export interface SplitSettings {
  embargoDays: number;
  liveDays: number;
  validationFraction: number;
}

export interface CalendarSplit {
  kind: RoundSplitKind;
  /** The split's dates, ascending. */
  dates: string[];
}

/** How the dates are split (one paragraph, for the README). */
export const SPLITS_DOC =
  'Dates are split in time, oldest first: TRAIN, an embargo, VALIDATION, an embargo, LIVE. LIVE is the newest dates ' +
  '(features only: their forward returns are not known yet). Each embargo drops at least the horizon in dates, so ' +
  'every TRAIN target uses only prices dated before the first VALIDATION date and every VALIDATION target only prices ' +
  'dated before the first LIVE date; a row whose target would reach past that (a symbol with missing days) is left out. ' +
  'No date is in two splits.';

/**
 * Splits the ascending calendar of feature dates into TRAIN, VALIDATION and LIVE (dropping the
 * embargo dates between them), or throws a RoundInputError saying how many dates are needed.
 */
export function splitCalendar(calendar: string[], settings: SplitSettings, longestSeries: number): CalendarSplit[] {
  const { embargoDays, liveDays, validationFraction } = settings;
  const needed = MIN_TRAIN_DATES + embargoDays + MIN_VALIDATION_DATES + embargoDays + liveDays;
  if (calendar.length < needed) {
    throw new RoundInputError(
      `not enough price history: need at least ${needed} dates after the ${WARM_UP_ROWS}-day warm-up ` +
        `(${MIN_TRAIN_DATES} train + ${embargoDays} embargo + ${MIN_VALIDATION_DATES} validation + ${embargoDays} embargo + ${liveDays} live), ` +
        `got ${calendar.length}; a one-symbol file needs at least ${needed + WARM_UP_ROWS} rows (the longest symbol here has ${longestSeries}). ` +
        'Use a longer price history or a smaller horizon.',
    );
  }
  const labeled = calendar.length - liveDays - embargoDays;
  const usable = labeled - embargoDays;
  const validationCount = Math.min(Math.max(Math.round(usable * validationFraction), MIN_VALIDATION_DATES), usable - MIN_TRAIN_DATES);
  const trainCount = usable - validationCount;
  return [
    { kind: 'TRAIN', dates: calendar.slice(0, trainCount) },
    { kind: 'VALIDATION', dates: calendar.slice(trainCount + embargoDays, labeled) },
    { kind: 'LIVE', dates: calendar.slice(labeled + embargoDays) },
  ];
}
