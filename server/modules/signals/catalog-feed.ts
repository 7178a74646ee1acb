import type { DataSource } from 'typeorm';
import { pushedStream } from '../../live/pushed-stream';
import type { Logger } from '../../logger';
import type { Notifications } from '../../db/notifications';
import { CATALOG_CHANNEL } from '../catalog/catalog.service';
import { CatalogModelEntity } from '../catalog/catalog-model.entity';
import { DEPLOYMENT_CHANNEL, type DeploymentChange } from '../deployments/lifecycle';
import { liveStateLoader, type ListingWithLiveState } from './live-status';

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
    const follower: Follower = { deliver: (model) => stream.push(model) };
    const stream = pushedStream<CatalogModelEntity>({ maxQueued: MAX_QUEUED, onEnd: () => this.followers.delete(follower) });
    this.followers.add(follower);
    return stream.iterator;
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
