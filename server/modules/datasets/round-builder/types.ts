import type { DatasetFileKind } from '../../../../generated/schema-types';
import type { DatasetSplit } from '../../../../generated/server-types';

/** One day of one symbol's prices. */
export interface PriceRow {
  symbol: string;
  /** YYYY-MM-DD */
  date: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** The files a round is split into (the resolution file comes later, with the round's outcome). */
export type RoundSplitKind = Exclude<DatasetFileKind, 'RESOLUTION'>;

export interface RoundFile {
  kind: RoundSplitKind;
  /** train.csv, validation.csv, live.csv */
  name: string;
  columns: string[];
  rowCount: number;
  /** CSV text, '\n' line ends, header first. */
  content: string;
}

export type RoundSplit = Omit<DatasetSplit, '__typename' | 'kind'> & { kind: RoundSplitKind };

export interface LiveRow {
  symbol: string;
  date: string;
}

export interface BuiltRound {
  symbols: string[];
  horizonDays: number;
  featureNames: string[];
  splits: RoundSplit[];
  /** 4 ascending cut points on the forward return. */
  targetThresholds: number[];
  files: RoundFile[];
  /** The live rows, in file order: what a resolution must fill. */
  live: LiveRow[];
}

export interface BuildRoundOptions {
  /** Forward-return horizon in trading rows, 1..260. */
  horizonDays: number;
  /** Dates dropped between splits; default horizonDays, must be >= horizonDays. */
  embargoDays?: number;
  /** Newest dates that form the LIVE split; default max(horizonDays, 20). */
  liveDays?: number;
  /** Share of the labeled dates (after the embargo) that go to VALIDATION; default 0.2. */
  validationFraction?: number;
}

export interface ResolutionInput {
  horizonDays: number;
  targetThresholds: number[];
  live: LiveRow[];
}

export interface ResolutionFile {
  name: 'resolution.csv';
  columns: string[];
  rowCount: number;
  content: string;
}
