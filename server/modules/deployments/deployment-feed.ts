import type { DataSource } from 'typeorm';
import { pushedStream } from '../../live/pushed-stream';
import type { Notifications } from '../../db/notifications';
import type { Logger } from '../../logger';
import type { Principal } from '../identity/principal';
import { requireVendor } from '../training/training-runs';
import { DeploymentEntity } from './deployment.entity';
import { DEPLOYMENT_CHANNEL, type DeploymentChange } from './lifecycle';

/** What `deploymentHealth` sends: one change of status or health. */
export interface DeploymentHealthEvent {
  deployment: DeploymentEntity;
  status: DeploymentEntity['status'];
  health: DeploymentEntity['health'];
  reason: string;
  at: Date;
}

interface Listener {
  /** Whether this subscriber follows the change at all (checked before the row is read). */
  wants(change: DeploymentChange): boolean;
  deliver(change: DeploymentChange, deployment: DeploymentEntity): void;
}

/** At most this many events wait for a slow subscriber; older ones are dropped (the newest state still arrives). */
const MAX_QUEUED = 100;

/**
 * Live deployment changes in this process: one listener on the deployments channel (every
 * process's changes arrive through it); a change that some subscriber follows costs one read of
 * the row however many follow it, one that nobody follows costs nothing; then each subscriber's
 * queue.
 */
export class DeploymentFeed {
  private readonly listeners = new Set<Listener>();
  private stopListening?: () => Promise<void>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly notifications: Notifications,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.stopListening = await this.notifications.listen(DEPLOYMENT_CHANNEL, (payload) => void this.onChange(payload));
  }

  async stop(): Promise<void> {
    await this.stopListening?.();
  }

  /**
   * The deployment's state as it is now (its newest history entry), then each status or health
   * change. `read` loads it for the caller (NOT_FOUND for another vendor's); it runs once the
   * subscription listens, so no change falls between the two (one may arrive twice).
   */
  async health(deploymentId: string, read: () => Promise<DeploymentEntity>): Promise<AsyncIterableIterator<DeploymentHealthEvent>> {
    const events = this.iterate<DeploymentHealthEvent>(
      (change) => change.deploymentId === deploymentId,
      (change, deployment) => ({
        deployment,
        status: change.event.status,
        health: change.event.health,
        reason: change.event.reason,
        at: new Date(change.event.at),
      }),
    );
    let deployment: DeploymentEntity;
    try {
      deployment = await read();
    } catch (error) {
      await events.return?.();
      throw error;
    }
    const latest = deployment.history.at(-1);
    events.first({
      deployment,
      status: deployment.status,
      health: deployment.health,
      reason: latest?.reason ?? '',
      at: latest ? new Date(latest.at) : deployment.updatedAt,
    });
    return events;
  }

  /** Each of the caller's deployments as it changes. */
  updates(principal: Principal | null): AsyncIterableIterator<DeploymentEntity> {
    const vendorId = requireVendor(principal);
    return this.iterate<DeploymentEntity>(
      (change) => change.vendorId === vendorId,
      (_change, deployment) => deployment,
    );
  }

  private async onChange(payload: string): Promise<void> {
    if (this.listeners.size === 0) return;
    try {
      const change = JSON.parse(payload) as DeploymentChange;
      const interested = [...this.listeners].filter((listener) => listener.wants(change));
      if (interested.length === 0) return;
      const deployment = await this.dataSource.getRepository(DeploymentEntity).findOneBy({ id: change.deploymentId });
      if (!deployment) return;
      for (const listener of interested) listener.deliver(change, deployment);
    } catch (error) {
      this.log.warn({ err: error }, 'could not follow a deployment change');
    }
  }

  private iterate<T>(
    wants: Listener['wants'],
    valueOf: (change: DeploymentChange, deployment: DeploymentEntity) => T,
  ): AsyncIterableIterator<T> & { first(value: T): void } {
    const listener: Listener = { wants, deliver: (change, deployment) => stream.push(valueOf(change, deployment)) };
    const stream = pushedStream<T>({ maxQueued: MAX_QUEUED, onEnd: () => this.listeners.delete(listener) });
    this.listeners.add(listener);
    return Object.assign(stream.iterator, { first: stream.pushFirst });
  }
}
