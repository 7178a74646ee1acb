import { readFile } from 'node:fs/promises';
import type { ServerConfig } from '../../config';
import type { Database } from '../../db/database';
import { LocalBlobStore } from '../../storage/blob-store';
import { DatasetFileKind } from '../../../generated/schema-types';
import { DatasetsService } from '../datasets/datasets.service';
import { parsePricesCsv } from '../datasets/round-builder';
import { sp500CsvPath } from '../datasets/sample-data';
import { DEMO_BASELINES, toRoundTable } from './demo-baselines';
import { scoreStoredRound } from './round-scoring/round-scorer';
import { recordScored } from './round-scoring/scoring-queue';
import { upsertSignals, type SignalWriter } from './signal-store';

/** A past round, resolved with the prices that came after it, so a fresh start has real scores to show. */
export const DEMO_HISTORY = {
  name: 'S&P 500 daily to 2019 (resolved demo)',
  description:
    'Built from the daily S&P 500 index history 2000-01-03 to 2019-12-31 (vega-datasets), its live period the last 120 trading days of 2019, ' +
    "resolved with the 2020 prices. The demo vendors' models ran baseline methods on it; their scores are on the leaderboard.",
  lastDate: '2019-12-31',
  liveDays: 120,
  horizonDays: 5,
  symbol: 'SPX',
};

/**
 * On a database with the demo catalog and no scores yet: build the historical round, store each
 * demo model's predictions for its live period (the method DEMO_BASELINES names, run on the
 * round's own TRAIN and LIVE files), resolve it with the later prices and score it, as the
 * scoring job would. Says what it added, or null.
 */
export async function seedDemoScores(database: Database, config: Pick<ServerConfig, 'blobDir'>): Promise<string | null> {
  const { dataSource, notifications } = database;
  const [{ scored }] = (await dataSource.query(
    `SELECT EXISTS (SELECT 1 FROM model_scores) OR EXISTS (SELECT 1 FROM dataset_rounds WHERE name = $1) AS scored`,
    [DEMO_HISTORY.name],
  )) as { scored: boolean }[];
  if (scored) return null;
  const models = (await dataSource.query(`SELECT id, slug, vendor_id AS "vendorId" FROM catalog_models WHERE slug = ANY($1)`, [
    Object.keys(DEMO_BASELINES),
  ])) as {
    id: string;
    slug: string;
    vendorId: string;
  }[];
  if (models.length === 0) return null;

  const prices = parsePricesCsv(await readFile(sp500CsvPath(), 'utf8'), { symbol: DEMO_HISTORY.symbol });
  const datasets = new DatasetsService(dataSource, new LocalBlobStore(config.blobDir));
  const by = 'demo seed';
  const round = await datasets.createRound({
    prices: prices.filter((row) => row.date <= DEMO_HISTORY.lastDate),
    horizonDays: DEMO_HISTORY.horizonDays,
    liveDays: DEMO_HISTORY.liveDays,
    name: DEMO_HISTORY.name,
    description: DEMO_HISTORY.description,
    by,
  });
  await datasets.changeStatusAs(round.number, 'OPEN', by);

  const train = toRoundTable('train.csv', (await datasets.readFile(round.number, DatasetFileKind.Train))!);
  const live = toRoundTable('live.csv', (await datasets.readFile(round.number, DatasetFileKind.Live))!);
  await dataSource.transaction(async (manager) => {
    for (const model of models) {
      const scores = DEMO_BASELINES[model.slug].predict({ train, live });
      const writer: SignalWriter = { key: model.id, vendorId: model.vendorId, modelId: model.id, source: 'UPLOAD' };
      const accepted = live.symbols!.map((symbol, row) => ({
        index: row,
        symbol,
        asOf: new Date(`${live.dates![row]}T21:00:00.000Z`),
        horizonDays: DEMO_HISTORY.horizonDays,
        score: scores[row],
        confidence: 0.5,
      }));
      await upsertSignals(manager, writer, round.number, accepted);
    }
  });

  await datasets.changeStatusAs(round.number, 'CLOSED', by);
  await datasets.resolveRound(round.number, prices, by);
  const result = await scoreStoredRound(dataSource, notifications, datasets, round.number);
  await recordScored(dataSource, round.number, result, by);
  return `round ${round.number}, resolved from the S&P 500 history and scored for ${result.models} demo models`;
}
