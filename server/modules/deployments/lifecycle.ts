import type { EntityManager } from 'typeorm';
import { DomainError } from '../../domain-error';
import type { DeploymentAction, DeploymentHealth, DeploymentStatus } from '../../../generated/schema-types';
import type { Notifications } from '../../db/notifications';
import { DeploymentEntity, type StoredDeploymentEvent } from './deployment.entity';

/** Every process hears each change of a deployment on this channel (payload: DeploymentChange). */
export const DEPLOYMENT_CHANNEL = 'mp_deployment_changed';

export interface DeploymentChange {
  deploymentId: string;
  vendorId: string;
  event: StoredDeploymentEvent;
}

/** The newest changes kept in a deployment's `history` (a flapping endpoint would grow it without end). */
export const MAX_HISTORY = 200;

/** Which status may follow which. STOPPED and FAILED are final. */
const NEXT: Record<DeploymentStatus, readonly DeploymentStatus[]> = {
  PENDING: ['PROVISIONING', 'STOPPED', 'FAILED'],
  PROVISIONING: ['STARTING', 'RUNNING', 'STOPPING', 'FAILED'],
  STARTING: ['RUNNING', 'STOPPING', 'FAILED'],
  // A restart (a new environment delivered to a pod) goes back to STARTING.
  RUNNING: ['STARTING', 'STOPPING', 'FAILED'],
  STOPPING: ['STOPPED', 'FAILED'],
  STOPPED: [],
  FAILED: [],
};

const LIVE: readonly DeploymentStatus[] = ['PENDING', 'PROVISIONING', 'STARTING', 'RUNNING'];

export function isFinal(status: DeploymentStatus): boolean {
  return NEXT[status].length === 0;
}

/** What the vendor can do to a deployment in `status` (the `actions` field). */
export function actionsFor(status: DeploymentStatus): DeploymentAction[] {
  if (status === 'STOPPING') return ['STOP'];
  if (!LIVE.includes(status)) return [];
  // A new token reaches an endpoint that runs; one still being created starts with the token it was given.
  return status === 'STARTING' || status === 'RUNNING' ? ['STOP', 'ROTATE_TOKEN', 'LINK_INFRA'] : ['STOP', 'LINK_INFRA'];
}

export function requireAction(deployment: DeploymentEntity, action: DeploymentAction): void {
  if (!actionsFor(deployment.status).includes(action)) {
    throw new DomainError('PRECONDITION_FAILED', `deployment ${deployment.id} is ${deployment.status}: ${action} is not possible now`);
  }
}

export interface Change {
  status?: DeploymentStatus;
  health?: DeploymentHealth;
  reason: string;
  /** Write only if the last heartbeat is still this one (the sweep must not undo a heartbeat that just came in). */
  unlessHeartbeatAfter?: Date | null;
  /** Write only if the lease is still this one (a renewal means its owner lives). */
  unlessLeaseRenewedAfter?: Date | null;
  /** Other columns written with the change (endpointUrl, providerRef, startedAt...). */
  set?: Partial<Pick<DeploymentEntity, 'endpointUrl' | 'providerRef' | 'startedAt' | 'ownerWorker' | 'leaseExpiresAt' | 'lastHeartbeatAt' | 'lastHeartbeat'>>;
}

/**
 * The one way a deployment's status or health changes: the transition is checked (an illegal one
 * is PRECONDITION_FAILED), recorded in its history with the reason, written only if nobody changed
 * the status meanwhile, and announced on commit to every process. Returns the updated row, or
 * null when the status moved under us (the caller re-reads and decides).
 */
export async function applyChange(
  manager: EntityManager,
  notifications: Notifications,
  deployment: DeploymentEntity,
  change: Change,
): Promise<DeploymentEntity | null> {
  const status = change.status ?? deployment.status;
  if (status !== deployment.status && !NEXT[deployment.status].includes(status)) {
    throw new DomainError('PRECONDITION_FAILED', `deployment ${deployment.id} is ${deployment.status}: it cannot become ${status}`);
  }
  const health = change.health ?? (isFinal(status) ? 'UNKNOWN' : deployment.health);
  const changed = status !== deployment.status || health !== deployment.health;
  const event: StoredDeploymentEvent = { at: new Date().toISOString(), status, health, reason: change.reason };
  const history = changed ? [...deployment.history, event].slice(-MAX_HISTORY) : deployment.history;
  const set = { ...change.set, status, health, history, updatedAt: new Date(event.at) };
  const update = manager
    .createQueryBuilder()
    .update(DeploymentEntity)
    .set(set)
    .where('id = :id AND status = :from', { id: deployment.id, from: deployment.status });
  if (change.unlessHeartbeatAfter !== undefined) {
    update.andWhere('last_heartbeat_at IS NOT DISTINCT FROM :seen', { seen: change.unlessHeartbeatAfter });
  }
  if (change.unlessLeaseRenewedAfter !== undefined) {
    update.andWhere('lease_expires_at IS NOT DISTINCT FROM :lease', { lease: change.unlessLeaseRenewedAfter });
  }
  const result = await update.execute();
  if (!result.affected) return null;
  if (changed) {
    const payload: DeploymentChange = { deploymentId: deployment.id, vendorId: deployment.vendorId, event };
    await notifications.notify(manager, DEPLOYMENT_CHANNEL, JSON.stringify(payload));
  }
  return Object.assign(new DeploymentEntity(), deployment, set);
}
