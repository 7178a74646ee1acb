/**
 * The demo vendors' models: real baseline methods run on a round's files, so the demo round's
 * scores are earned, not made up. The ridge model is the training template's own code
 * (cli/templates/runpod-signal-train), fitted in closed form with the template's default penalty
 * and ranked to 0..1 as its predictions file is; the others are classic one-line signals on the
 * round's features (each already in 0..1, see the round builder's FEATURE_DOCS).
 */
import type { RoundTable } from '../../../cli/templates/runpod-signal-train/src/data';
import { percentileRanks } from '../../../cli/templates/runpod-signal-train/src/metrics';
import { fitRidgeClosedForm, predict } from '../../../cli/templates/runpod-signal-train/src/model';

/** The template's default ridge penalty (its package.json declares it). */
const TEMPLATE_L2 = 0.001;

export interface BaselineInputs {
  train: RoundTable;
  live: RoundTable;
}

type Baseline = (inputs: BaselineInputs) => Float64Array;

function feature(table: RoundTable, name: string): (row: number) => number {
  const at = table.featureNames.indexOf(name);
  if (at < 0) throw new Error(`the round has no ${name} feature`);
  const width = table.featureNames.length;
  return (row) => table.features[row * width + at];
}

function perRow(table: RoundTable, score: (row: number) => number): Float64Array {
  return Float64Array.from({ length: table.rows }, (_, row) => Math.min(1, Math.max(0, score(row))));
}

/** Which demo catalog model runs which method, by slug. */
export const DEMO_BASELINES: Record<string, { method: string; predict: Baseline }> = {
  'demo/momentum-ridge': {
    method: 'ridge regression of the target on every feature (the runpod-signal-train template), ranked to 0..1',
    predict: ({ train, live }) => percentileRanks(predict(fitRidgeClosedForm(train, TEMPLATE_L2), live)),
  },
  'demo/mean-reversion-gbt': {
    method: 'mean reversion: against the 5-day return and the RSI',
    predict: ({ live }) => {
      const [r5, rsi] = [feature(live, 'return_5d'), feature(live, 'rsi_14')];
      return perRow(live, (row) => 1 - (r5(row) + rsi(row)) / 2);
    },
  },
  'demo/volatility-regime': {
    method: 'trend (distance from the 50-day average) damped in volatile regimes',
    predict: ({ live }) => {
      const [trend, vol] = [feature(live, 'sma_50_distance'), feature(live, 'volatility_20d')];
      return perRow(live, (row) => 0.5 + (trend(row) - 0.5) * (1 - vol(row)));
    },
  },
  'quant-collective/carry-trend': {
    method: 'momentum: the 60-day return and the distance from the 50-day average',
    predict: ({ live }) => {
      const [r60, trend] = [feature(live, 'return_60d'), feature(live, 'sma_50_distance')];
      return perRow(live, (row) => (r60(row) + trend(row)) / 2);
    },
  },
};

/** A round file (header and rows, as DatasetsService.readFile gives it) as the template's RoundTable. */
export function toRoundTable(name: string, file: { columns: string[]; rows: string[][] }): RoundTable {
  const symbolAt = file.columns.indexOf('symbol');
  const dateAt = file.columns.indexOf('date');
  const targetAt = file.columns.indexOf('target');
  const featureAt = file.columns.flatMap((column, index) => (index === symbolAt || index === dateAt || index === targetAt ? [] : [index]));
  const features = new Float32Array(file.rows.length * featureAt.length);
  file.rows.forEach((row, r) => featureAt.forEach((column, f) => (features[r * featureAt.length + f] = Number(row[column]))));
  return {
    name,
    featureNames: featureAt.map((index) => file.columns[index]),
    rows: file.rows.length,
    features,
    target: targetAt < 0 ? null : Float32Array.from(file.rows, (row) => Number(row[targetAt])),
    symbols: file.rows.map((row) => row[symbolAt]),
    dates: file.rows.map((row) => row[dateAt]),
  };
}
