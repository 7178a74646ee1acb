import type { DataSource } from 'typeorm';
import type { Logger } from '../../logger';
import type { Notifications } from '../../db/notifications';
import { CATALOG_CHANNEL } from '../catalog/catalog.service';
import { CatalogModelEntity } from '../catalog/catalog-model.entity';
import { DEPLOYMENT_CHANNEL, type DeploymentChange } from '../deployments/lifecycle';
import { liveStateLoader, type ListingWithLiveState } from './live-status';

type Wake = (result: IteratorResult<CatalogModelEntity>) => void;

interface Follower {
  deliver(model: CatalogModelEntity): void;
}

const MAX_QUEUED = 1000;

/**
 * `catalogUpdated`: a listing changes when it is registered, updated or hidden (CATALOG_CHANNEL
 * names the model) and when its deployment's status or health changes (LIVE and OFFLINE). The
 * models are read once per change, and only while somebody follows.
 */
export class CatalogFeed {
  private readonly followers = new Set<Follower>();
  private readonly stops: (() => Promise<void>)[] = [];

  constructor(
    private readonly dataSource: DataSource,
    private readonly notifications: Notifications,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.stops.push(
      await this.notifications.listen(CATALOG_CHANNEL, (payload) => void this.push(() => this.modelsNamed(payload))),
      await this.notifications.listen(DEPLOYMENT_CHANNEL, (payload) => void this.push(() => this.modelsServedBy(payload))),
    );
  }

  async stop(): Promise<void> {
    for (const stop of this.stops.splice(0)) await stop();
  }

  follow(): AsyncIterableIterator<CatalogModelEntity> {
    const queue: CatalogModelEntity[] = [];
    let wake: Wake | null = null;
    let done = false;
    const follower: Follower = {
      deliver: (model) => {
        if (wake) {
          const resolve = wake;
          wake = null;
          resolve({ value: model, done: false });
        } else if (queue.push(model) > MAX_QUEUED) queue.shift();
      },
    };
    this.followers.add(follower);
    const finish = (): Promise<IteratorResult<CatalogModelEntity>> => {
      done = true;
      this.followers.delete(follower);
      wake?.({ value: undefined, done: true });
      wake = null;
      return Promise.resolve({ value: undefined, done: true });
    };
    return {
      next: () => {
        if (queue.length > 0) return Promise.resolve({ value: queue.shift()!, done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (wake = resolve));
      },
      return: finish,
      throw: async (error: unknown) => {
        await finish();
        throw error;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  private async push(read: () => Promise<CatalogModelEntity[]>): Promise<void> {
    if (this.followers.size === 0) return;
    try {
      const models = await read();
      // A subscription's loaders live as long as it does: each pushed listing carries its live state as of now.
      const states = liveStateLoader(this.dataSource);
      for (const model of models) {
        const listing: ListingWithLiveState = Object.assign(model, { liveState: model.deploymentId ? await states.load(model.deploymentId) : undefined });
        for (const follower of this.followers) follower.deliver(listing);
      }
    } catch (error) {
      this.log.warn({ err: error }, 'could not follow a catalog change');
    }
  }

  private async modelsNamed(payload: string): Promise<CatalogModelEntity[]> {
    const modelId = (JSON.parse(payload || '{}') as { modelId?: string }).modelId;
    if (!modelId) return [];
    const model = await this.dataSource.getRepository(CatalogModelEntity).findOneBy({ id: modelId });
    return model ? [model] : [];
  }

  private async modelsServedBy(payload: string): Promise<CatalogModelEntity[]> {
    const change = JSON.parse(payload) as DeploymentChange;
    return this.dataSource
      .getRepository(CatalogModelEntity)
      .createQueryBuilder('model')
      .where(`model.deployment_id = :id AND model.status <> 'DRAFT'`, { id: change.deploymentId })
      .getMany();
  }
}
