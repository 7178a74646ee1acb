import type { DataSource } from 'typeorm';
import { DomainError } from '../../domain-error';
import type { Logger } from '../../logger';
import type { ClusterSchedule } from '../../jobs';
import type { Notifications } from '../../db/notifications';
import { updateReturning } from '../../db/returning';
import { HeartbeatInputSchema } from '../../../generated/contracts';
import type { DeploymentHealth, DeploymentStatus, EndpointStatus } from '../../../generated/schema-types';
import type { HeartbeatInput } from '../../../generated/server-types';
import { DeploymentEntity, type StoredHeartbeat } from './deployment.entity';
import { applyChange } from './lifecycle';
import type { DeploymentCaller } from './token-validator';

/** Heartbeats missed before a deployment counts as UNHEALTHY. */
export const MISSED_HEARTBEATS = 3;
const MAX_DETAILS_BYTES = 4096;

/** The statuses in which a deployment takes heartbeats (not once it is STOPPING). */
const TAKES_HEARTBEATS: DeploymentStatus[] = ['PENDING', 'PROVISIONING', 'STARTING', 'RUNNING'];

/** How an endpoint's own status reads as the deployment's health. */
const HEALTH_OF: Record<EndpointStatus, DeploymentHealth> = { READY: 'HEALTHY', BUSY: 'DEGRADED', STARTING: 'UNKNOWN', UNHEALTHY: 'UNHEALTHY' };

export interface HeartbeatReceipt {
  deploymentId: string;
  health: DeploymentHealth;
  nextDueAt: Date;
  signalsUrl: string | null;
}

/**
 * Heartbeats in, health out. A heartbeat is one conditional UPDATE; only a change of status or
 * health goes through the lifecycle (history, notification). The sweep that notices missed
 * heartbeats runs every half second somewhere in the cluster (server/jobs), never once per process.
 */
export class Heartbeats {
  constructor(
    private readonly dataSource: DataSource,
    private readonly notifications: Notifications,
    private readonly log: Logger,
  ) {}

  async receive(caller: DeploymentCaller | null, input: HeartbeatInput, attempt = 1): Promise<HeartbeatReceipt> {
    if (!caller) throw new DomainError('FORBIDDEN', "sendHeartbeat takes the deployment's own token (MP_DEPLOYMENT_TOKEN, sit_...), not an API key");
    if (!caller.scopes.includes('heartbeat:write')) throw new DomainError('FORBIDDEN', 'this deployment token lacks the heartbeat:write scope');
    const parsed = HeartbeatInputSchema.safeParse(input);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((issue) => ({ field: ['input', ...issue.path].join('.'), message: issue.message }));
      throw new DomainError('BAD_USER_INPUT', fields.map((field) => `${field.field}: ${field.message}`).join('; '), { fields });
    }
    if (input.details && Buffer.byteLength(JSON.stringify(input.details)) > MAX_DETAILS_BYTES) {
      throw new DomainError('BAD_USER_INPUT', `input.details: at most ${MAX_DETAILS_BYTES} bytes as JSON`, {
        fields: [{ field: 'input.details', message: `at most ${MAX_DETAILS_BYTES} bytes as JSON` }],
      });
    }
    const at = new Date();
    const heartbeat: StoredHeartbeat = {
      at: at.toISOString(),
      status: input.status,
      latencyMs: input.latencyMs ?? null,
      version: input.version ?? null,
      details: input.details ?? null,
    };
    const health = HEALTH_OF[input.status];
    const running = input.status === 'READY' || input.status === 'BUSY';
    // The usual heartbeat changes nothing but its time: one statement, which also finds out. Its
    // commit does not wait for the WAL to reach the disk (synchronous_commit off for this
    // transaction alone): a crash may lose the last second of heartbeat times, which the next
    // heartbeat writes again, and under a busy disk the flush was most of a heartbeat's tail.
    const [steady] = await updateReturning<{ interval: number; signals_url: string | null }>(
      this.dataSource,
      `UPDATE deployments SET last_heartbeat_at = $2, last_heartbeat = $3
       FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit
       WHERE id = $1 AND health = $4 AND status = ANY($5::text[])
       RETURNING heartbeat_interval_seconds AS interval, signals_url`,
      [caller.deploymentId, at.toISOString(), JSON.stringify(heartbeat), health, running ? ['RUNNING'] : TAKES_HEARTBEATS],
    );
    if (steady) {
      return { deploymentId: caller.deploymentId, health, nextDueAt: new Date(at.getTime() + steady.interval * 1000), signalsUrl: steady.signals_url };
    }
    const deployment = await this.dataSource.getRepository(DeploymentEntity).findOneBy({ id: caller.deploymentId });
    if (!deployment || !TAKES_HEARTBEATS.includes(deployment.status)) {
      throw new DomainError('PRECONDITION_FAILED', `deployment ${caller.deploymentId} is ${deployment?.status ?? 'gone'}: it takes no heartbeats`);
    }
    const status: DeploymentStatus = running ? 'RUNNING' : deployment.status;
    const reason = status !== deployment.status ? `the endpoint reported ${input.status}` : `heartbeat: the endpoint reports ${input.status}`;
    const legal = status === deployment.status || ['PROVISIONING', 'STARTING'].includes(deployment.status);
    const changed = await this.dataSource.transaction((manager) =>
      applyChange(manager, this.notifications, deployment, {
        status: legal ? status : deployment.status,
        health,
        reason,
        set: { lastHeartbeatAt: at, lastHeartbeat: heartbeat },
      }),
    );
    // The status moved meanwhile (a stop, the sweep): judge the heartbeat again against the new state.
    if (!changed) {
      if (attempt >= 3) throw new DomainError('CONFLICT', `deployment ${deployment.id} keeps changing: send the heartbeat again`);
      return this.receive(caller, input, attempt + 1);
    }
    return {
      deploymentId: deployment.id,
      health,
      nextDueAt: new Date(at.getTime() + deployment.heartbeatIntervalSeconds * 1000),
      signalsUrl: deployment.signalsUrl,
    };
  }

  /** Every live deployment whose last heartbeat (or start) is older than 3 of its intervals becomes UNHEALTHY. */
  async sweep(): Promise<number> {
    const overdue: DeploymentEntity[] = await this.dataSource
      .getRepository(DeploymentEntity)
      .createQueryBuilder('d')
      .where(`d.status IN ('STARTING', 'RUNNING')`)
      .andWhere(`d.health <> 'UNHEALTHY'`)
      .andWhere(
        `COALESCE(d.last_heartbeat_at, d.started_at, d.updated_at) < now() - make_interval(secs => d.heartbeat_interval_seconds * ${MISSED_HEARTBEATS})`,
      )
      .getMany();
    let flipped = 0;
    for (const deployment of overdue) {
      const seconds = deployment.heartbeatIntervalSeconds * MISSED_HEARTBEATS;
      const changed = await this.dataSource.transaction((manager) =>
        applyChange(manager, this.notifications, deployment, {
          health: 'UNHEALTHY',
          unlessHeartbeatAfter: deployment.lastHeartbeatAt,
          reason: `no heartbeat for ${seconds} s (${MISSED_HEARTBEATS} intervals of ${deployment.heartbeatIntervalSeconds} s)`,
        }),
      );
      if (changed) flipped += 1;
    }
    if (flipped > 0) this.log.info({ flipped }, 'deployments marked UNHEALTHY for missed heartbeats');
    return flipped;
  }

  schedule(schedule: ClusterSchedule): void {
    schedule.every('deployment-health', 500, () => this.sweep());
  }
}
