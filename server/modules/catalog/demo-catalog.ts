import type { DataSource } from 'typeorm';
import { newId } from '../../db/ids';
import { VendorEntity } from '../identity/vendor.entity';
import { VENDOR_ID_PREFIX } from '../identity/ids';
import { CatalogModelEntity, type CatalogModelStatus, type ModelTask } from './catalog-model.entity';
import { CATALOG_MODEL_ID_PREFIX } from './ids';

interface SeedModel {
  name: string;
  slug: string;
  task: ModelTask;
  tags: string[];
  description: string;
  status?: CatalogModelStatus;
  publishedDaysAgo: number;
}

const DEMO_VENDORS: { handle: string; displayName: string; email: string; models: SeedModel[] }[] = [
  {
    handle: 'demo',
    displayName: 'NeuroNetIQ Demo Lab',
    email: 'demo@example.com',
    models: [
      {
        name: 'Momentum Ridge',
        slug: 'momentum-ridge',
        task: 'SIGNAL',
        tags: ['momentum', 'ridge', 'daily'],
        publishedDaysAgo: 2,
        description: 'Ridge regression on 1, 5, 20 and 60-day returns and distance from moving averages; predicts the 5-day forward return bucket.',
      },
      {
        name: 'Mean Reversion GBT',
        slug: 'mean-reversion-gbt',
        task: 'SIGNAL',
        tags: ['mean-reversion', 'gradient-boosting', 'daily'],
        publishedDaysAgo: 9,
        description: 'Small gradient-boosted trees on RSI, range and volume z-scores; bets on short-term reversals.',
      },
      {
        name: 'Volatility Regime',
        slug: 'volatility-regime',
        task: 'SIGNAL',
        tags: ['volatility', 'regime'],
        publishedDaysAgo: 20,
        status: 'DEPRECATED',
        description: 'Classifies the volatility regime and scales a trend signal by it. Superseded by Momentum Ridge.',
      },
      {
        name: 'Equal-Weight Consensus',
        slug: 'equal-weight-consensus',
        task: 'CONSENSUS',
        tags: ['ensemble', 'baseline'],
        publishedDaysAgo: 5,
        description: 'The baseline consensus: the rank-average of every linked signal model per symbol.',
      },
      {
        name: 'Next Generation (draft)',
        slug: 'next-gen',
        task: 'SIGNAL',
        tags: ['experimental'],
        publishedDaysAgo: 0,
        status: 'DRAFT',
        description: 'Not published yet; never listed in the catalog.',
      },
    ],
  },
  {
    handle: 'quant-collective',
    displayName: 'Quant Collective',
    email: 'team@quant-collective.example',
    models: [
      {
        name: 'Risk Parity Optimizer',
        slug: 'risk-parity',
        task: 'OPTIMIZER',
        tags: ['risk-parity', 'portfolio'],
        publishedDaysAgo: 3,
        description: 'Turns signals into portfolio weights with inverse-volatility risk budgets and a turnover penalty.',
      },
      {
        name: 'Carry and Trend',
        slug: 'carry-trend',
        task: 'SIGNAL',
        tags: ['trend', 'carry', 'daily'],
        publishedDaysAgo: 14,
        description: 'Blends a 60-day trend with a carry proxy; slow, low turnover.',
      },
    ],
  },
];

/** On an empty database, add demo vendors and catalog models so GraphiQL shows real rows. Returns false when data exists. */
export async function seedDemoCatalog(dataSource: DataSource): Promise<boolean> {
  return dataSource.transaction(async (manager) => {
    if ((await manager.getRepository(VendorEntity).count()) > 0) return false;
    const day = 24 * 3600 * 1000;
    for (const seed of DEMO_VENDORS) {
      const vendor: VendorEntity = {
        id: newId(VENDOR_ID_PREFIX),
        handle: seed.handle,
        displayName: seed.displayName,
        email: seed.email,
        status: 'ACTIVE',
        suspendedReason: null,
        createdAt: new Date(Date.now() - 30 * day),
      };
      await manager.getRepository(VendorEntity).insert(vendor);
      for (const model of seed.models) {
        const status = model.status ?? 'PUBLISHED';
        const entity: CatalogModelEntity = {
          id: newId(CATALOG_MODEL_ID_PREFIX),
          vendorId: vendor.id,
          name: model.name,
          slug: `${seed.handle}/${model.slug}`,
          description: model.description,
          task: model.task,
          status,
          tags: model.tags,
          createdAt: new Date(Date.now() - (model.publishedDaysAgo + 1) * day),
          publishedAt: status === 'DRAFT' ? null : new Date(Date.now() - model.publishedDaysAgo * day),
          deploymentId: null,
          trainingRunId: null,
        };
        await manager.getRepository(CatalogModelEntity).insert(entity);
      }
    }
    return true;
  });
}
