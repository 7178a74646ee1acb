import type { DataSource } from 'typeorm';
import { DatasetFileKind } from '../../../../generated/schema-types';
import type { DatasetsService } from '../../datasets/datasets.service';
import { consensusWeights } from '../consensus-weights';
import { recentScores } from '../recent-scores';
import type { RoundDate, RoundPredictions } from '../scoring';

/** The subject the consensus is stored under, beside the models' ids. */
export const CONSENSUS_SUBJECT = 'consensus';

export interface RoundInputs {
  dates: RoundDate[];
  /** Per catalog model id, then per date aligned with `dates[i].symbols` (NaN: no prediction for that symbol). */
  predictions: Map<string, (Float64Array | undefined)[]>;
  /** Each model's vendor. */
  vendors: Map<string, string>;
  /** How the meta model weighs the models (consensusWeights' words). */
  metaModelMethod: string;
}

/**
 * What scoring a resolved round needs, aligned by date and symbol: the realized target of every
 * live (symbol, date) from the RESOLUTION file, the features from the LIVE file, each registered
 * model's latest signal per (symbol, date) at the round's horizon, and the meta model MMC is
 * measured against: the stake-free consensus, the models' predictions per symbol weighted as the
 * consensus weighed them while the round was live (by their records before it; equal without).
 */
export async function loadRoundInputs(dataSource: DataSource, datasets: DatasetsService, round: { number: number; horizonDays: number }): Promise<RoundInputs> {
  const resolution = await datasets.readFile(round.number, DatasetFileKind.Resolution);
  const live = await datasets.readFile(round.number, DatasetFileKind.Live);
  if (!resolution || !live) throw new Error(`round ${round.number} has no ${resolution ? 'LIVE' : 'RESOLUTION'} file`);

  const symbolAt = (columns: string[]): [number, number] => [columns.indexOf('symbol'), columns.indexOf('date')];
  const [rSymbol, rDate] = symbolAt(resolution.columns);
  const rTarget = resolution.columns.indexOf('target');
  const [lSymbol, lDate] = symbolAt(live.columns);
  const featureColumns = live.columns.flatMap((name, index) => (index === lSymbol || index === lDate ? [] : [index]));
  const featuresOf = new Map(live.rows.map((row) => [`${row[lSymbol]}\u0000${row[lDate]}`, featureColumns.map((index) => Number(row[index]))]));

  const byDate = new Map<string, { symbol: string; target: number }[]>();
  for (const row of resolution.rows) {
    const entries = byDate.get(row[rDate]) ?? [];
    entries.push({ symbol: row[rSymbol], target: Number(row[rTarget]) });
    byDate.set(row[rDate], entries);
  }
  const dateKeys = [...byDate.keys()].sort();
  const dates: RoundDate[] = dateKeys.map((date) => {
    const entries = byDate.get(date)!.sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
    const features = featureColumns.map((_, f) => Float64Array.from(entries, (entry) => featuresOf.get(`${entry.symbol}\u0000${date}`)?.[f] ?? Number.NaN));
    return {
      date,
      symbols: entries.map((entry) => entry.symbol),
      target: Float64Array.from(entries, (entry) => entry.target),
      features,
      metaModel: new Float64Array(entries.length),
    };
  });

  const signals: { model_id: string; vendor_id: string; symbol: string; date: string; score: number }[] = await dataSource.query(
    `SELECT DISTINCT ON (model_id, symbol, date) model_id, vendor_id, symbol, date, score
       FROM (SELECT model_id, vendor_id, symbol, to_char(as_of AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS date, score, written_at
               FROM signals WHERE round_number = $1 AND horizon_days = $2 AND model_id IS NOT NULL) s
      ORDER BY model_id, symbol, date, written_at DESC`,
    [round.number, round.horizonDays],
  );
  const dateIndex = new Map(dateKeys.map((date, index) => [date, index]));
  const symbolIndex = dates.map((date) => new Map(date.symbols.map((symbol, index) => [symbol, index])));
  const predictions = new Map<string, (Float64Array | undefined)[]>();
  const vendors = new Map<string, string>();
  for (const signal of signals) {
    const d = dateIndex.get(signal.date);
    const s = d === undefined ? undefined : symbolIndex[d].get(signal.symbol);
    if (d === undefined || s === undefined) continue;
    let perDate = predictions.get(signal.model_id);
    if (!perDate) predictions.set(signal.model_id, (perDate = dates.map(() => undefined)));
    perDate[d] ??= new Float64Array(dates[d].symbols.length).fill(Number.NaN);
    perDate[d]![s] = signal.score;
    vendors.set(signal.model_id, signal.vendor_id);
  }
  // The consensus as it stood while the round was live: weights from the records before it.
  const models = [...predictions.keys()];
  const records = await recentScores(dataSource, models, round.number);
  const { weights, method } = consensusWeights(models.map((model) => records.get(model) ?? null));
  const perModel = models.map((model) => predictions.get(model)!);
  dates.forEach((date, d) => {
    const meta = date.metaModel as Float64Array;
    for (let s = 0; s < meta.length; s += 1) {
      let sum = 0;
      let weight = 0;
      perModel.forEach((perDate, m) => {
        const value = perDate[d]?.[s];
        if (value !== undefined && !Number.isNaN(value)) {
          sum += weights[m] * value;
          weight += weights[m];
        }
      });
      meta[s] = weight > 0 ? sum / weight : Number.NaN;
    }
  });
  return { dates, predictions, vendors, metaModelMethod: method };
}

/** The consensus as one more model, so it is scored the same way (its MMC is 0 by construction). */
export function withConsensus(inputs: RoundInputs): RoundPredictions {
  const all = new Map<string, readonly (Float64Array | undefined)[]>(inputs.predictions);
  if (inputs.predictions.size > 0) {
    all.set(
      CONSENSUS_SUBJECT,
      inputs.dates.map((date) => ((date.metaModel as Float64Array).some((value) => !Number.isNaN(value)) ? (date.metaModel as Float64Array) : undefined)),
    );
  }
  return all;
}
