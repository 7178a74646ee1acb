import { readFile } from 'node:fs/promises';
import type { DataSource } from 'typeorm';
import type { ServerConfig } from '../../config';
import { LocalBlobStore } from '../../storage/blob-store';
import { DatasetRoundEntity } from './dataset-round.entity';
import { DatasetsService } from './datasets.service';
import { parsePricesCsv } from './round-builder';
import { sp500CsvPath } from './sample-data';

export const DEMO_ROUND = {
  name: 'Round 1: S&P 500 daily, 2000-2020',
  description: 'Built from the daily S&P 500 index history 2000-01-03 to 2020-04-17 (vega-datasets). Target: 5-day forward return bucket.',
  horizonDays: 5,
  symbol: 'SPX',
};

/** On a database without rounds, build round 1 from real S&P 500 data and open it. Returns its number, or null when rounds exist. */
export async function seedDemoRound(dataSource: DataSource, config: Pick<ServerConfig, 'blobDir'>): Promise<number | null> {
  if ((await dataSource.getRepository(DatasetRoundEntity).count()) > 0) return null;
  const prices = parsePricesCsv(await readFile(sp500CsvPath(), 'utf8'), { symbol: DEMO_ROUND.symbol });
  const datasets = new DatasetsService(dataSource, new LocalBlobStore(config.blobDir));
  const round = await datasets.createRound({
    prices,
    horizonDays: DEMO_ROUND.horizonDays,
    name: DEMO_ROUND.name,
    description: DEMO_ROUND.description,
    open: true,
    by: 'demo seed',
  });
  return round.number;
}
