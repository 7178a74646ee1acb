export { RoundInputError } from './errors';
export type { BuildRoundOptions, BuiltRound, LiveRow, PriceRow, ResolutionFile, ResolutionInput, RoundFile, RoundSplit, RoundSplitKind } from './types';
export { type ParsePricesOptions, parsePricesCsv } from './parse-prices';
export { buildRound } from './build-round';
export { parseCsvRecords } from './csv';
export { buildResolution } from './resolution';
export { FEATURE_DOCS, FEATURE_NAMES, NORMALIZATION_DOC, WARM_UP_ROWS } from './features';
export { TARGET_DOC } from './targets';
export { SPLITS_DOC } from './splits';
