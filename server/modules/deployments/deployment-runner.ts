import pLimit from 'p-limit';
import type { DataSource } from 'typeorm';
import { DomainError } from '../../domain-error';
import { maskForDisplay, type Logger } from '../../logger';
import type { Notifications } from '../../db/notifications';
import type { Links } from '../../storage';
import type { DeploymentProvider, DeploymentSpec } from '../../providers/deployment-provider';
import { LocalDeploymentProvider } from '../../providers/local-deployments';
import type { ComputeProviderName } from '../../../generated/schema-types';
import { TrainingArtifactEntity } from '../training/training-artifact.entity';
import { templateDir } from '../training/templates';
import { DeploymentEntity } from './deployment.entity';
import { DeploymentLogWriter } from './deployment-log-writer';
import { DEPLOYMENT_CHANNEL, isFinal, type DeploymentChange } from './lifecycle';
import type { DeploymentsService } from './deployments.service';
import type { DeploymentTokenValidator } from './token-validator';
import type { CommandSeal } from './sealed-command';

/** Asks the process that runs a LOCAL deployment to deliver a new environment (payload: {deploymentId, env}). */
export const DEPLOYMENT_COMMAND_CHANNEL = 'mp_deployment_command';
const LEASE_MS = 30_000;
const MODEL_LINK_DAYS = 7;
/** Deployments halted at once at shutdown (each: a token revocation, two changes, its endpoint's exit). */
const SHUTDOWN_CONCURRENCY = 8;

export interface RunnerOptions {
  dataSource: DataSource;
  notifications: Notifications;
  log: Logger;
  providers: Map<ComputeProviderName, DeploymentProvider>;
  service: DeploymentsService;
  tokens: DeploymentTokenValidator;
  workerId: string;
  /** Seals commands to other processes (they can carry a token). */
  seal: CommandSeal;
  links: () => Links;
  apiUrl: () => string;
  /** How long a graceful shutdown may take to stop this process's deployments (MP_SHUTDOWN_TIMEOUT_MS). */
  shutdownTimeoutMs: number;
}

/**
 * Hands deployments to their providers and follows them: PENDING -> PROVISIONING -> STARTING on
 * launch (RUNNING comes with the first READY heartbeat), FAILED when the provider fails or the
 * endpoint ends on its own, STOPPED on stop. A LOCAL deployment lives in the process that launched
 * it: that process holds a lease on it, renews it, and reacts when any process stops it or
 * changes its environment; another process marks it FAILED once the lease lapses.
 */
export class DeploymentRunner {
  private readonly logs: DeploymentLogWriter;
  private renewTimer?: NodeJS.Timeout;
  private stopListening: (() => Promise<void>)[] = [];

  constructor(private readonly options: RunnerOptions) {
    this.logs = new DeploymentLogWriter(options.dataSource, options.log);
  }

  async start(): Promise<void> {
    const { notifications } = this.options;
    this.stopListening.push(
      await notifications.listen(DEPLOYMENT_CHANNEL, (payload) =>
        this.quietly('follow a deployment change', () => this.onChange(JSON.parse(payload) as DeploymentChange)),
      ),
    );
    this.stopListening.push(
      await notifications.listen(DEPLOYMENT_COMMAND_CHANNEL, (payload) => {
        const command = this.options.seal.open<{ deploymentId: string; env: Record<string, string> }>(payload);
        if (command) this.quietly('deliver a new environment', () => this.deliverHere(command.deploymentId, command.env));
      }),
    );
    this.renewTimer = setInterval(() => void this.renewLeases(), LEASE_MS / 3);
    this.renewTimer.unref();
  }

  /**
   * Graceful shutdown: this process's LOCAL deployments stop with it (their tokens are revoked),
   * several at a time. Whatever still runs at the shutdown deadline is SIGKILLed; rows left
   * STOPPING then are failed by another process once their lease lapses.
   */
  async stop(): Promise<void> {
    clearInterval(this.renewTimer);
    const local = this.options.providers.get('LOCAL');
    const owned = await this.options.dataSource
      .getRepository(DeploymentEntity)
      .findBy({ ownerWorker: this.options.workerId })
      .catch((error: unknown) => {
        // The database is gone: end the processes anyway; another process fails the rows once their lease lapses.
        this.options.log.warn({ err: error }, 'could not read the deployments to stop at shutdown');
        return [] as DeploymentEntity[];
      });
    const limit = pLimit(SHUTDOWN_CONCURRENCY);
    const halts = owned
      .filter((row) => !isFinal(row.status))
      .map((deployment) =>
        limit(() =>
          this.halt(deployment, 'the server process running it shut down').catch((error: unknown) =>
            this.options.log.warn({ err: error, deploymentId: deployment.id }, 'could not stop a deployment at shutdown'),
          ),
        ),
      );
    let deadline: NodeJS.Timeout | undefined;
    const late = await Promise.race([
      Promise.all(halts).then(() => false),
      new Promise<boolean>((resolve) => (deadline = setTimeout(() => resolve(true), this.options.shutdownTimeoutMs))),
    ]);
    clearTimeout(deadline);
    if (late) {
      limit.clearQueue();
      this.options.log.warn(
        { pending: limit.activeCount + limit.pendingCount },
        'deployments still stopping at the shutdown deadline: their endpoints are killed',
      );
    }
    if (local instanceof LocalDeploymentProvider) await local.terminateAll(late ? 0 : undefined);
    await this.logs.flush();
    for (const stop of this.stopListening) await stop().catch(() => undefined);
  }

  launch(deployment: DeploymentEntity, token: string): void {
    void this.provision(deployment, token).catch((error: unknown) =>
      this.options.log.error({ err: error, deploymentId: deployment.id }, 'deployment launch failed'),
    );
  }

  /**
   * Revoke the token, stop at the provider (or let its owner, which hears STOPPING, do it), end
   * STOPPED. A deployment left STOPPING by a provider that failed to terminate can be halted again.
   */
  async halt(deployment: DeploymentEntity, reason: string): Promise<DeploymentEntity> {
    const { service } = this.options;
    await this.revokeTokens(deployment.id);
    let current: DeploymentEntity = deployment;
    if (current.status === 'PENDING') return (await service.change(current.id, { status: 'STOPPED', reason, from: 'PENDING' })) ?? current;
    if (current.status !== 'STOPPING') current = (await service.change(current.id, { status: 'STOPPING', reason, from: current.status })) ?? current;
    const provider = this.options.providers.get(current.provider);
    if (current.providerRef && provider && (current.provider !== 'LOCAL' || current.ownerWorker === this.options.workerId)) {
      await provider.terminate(current.providerRef);
    }
    return (await service.change(current.id, { status: 'STOPPED', reason, from: 'STOPPING' })) ?? current;
  }

  async deliver(deployment: DeploymentEntity, env: Record<string, string>): Promise<void> {
    if (deployment.provider === 'LOCAL' && deployment.ownerWorker !== this.options.workerId) {
      await this.options.notifications.notify(
        this.options.dataSource,
        DEPLOYMENT_COMMAND_CHANNEL,
        this.options.seal.seal({ deploymentId: deployment.id, env }),
      );
      return;
    }
    await this.deliverHere(deployment.id, env);
  }

  /** LOCAL deployments whose owner stopped renewing (a crashed process) are FAILED; returns how many. */
  async failOrphans(): Promise<number> {
    const orphans = await this.options.dataSource
      .getRepository(DeploymentEntity)
      .createQueryBuilder('d')
      .where(`d.provider = 'LOCAL' AND d.status IN ('PROVISIONING', 'STARTING', 'RUNNING', 'STOPPING')`)
      .andWhere('d.lease_expires_at < now()')
      .getMany();
    for (const orphan of orphans) {
      const failed = await this.options.service.change(orphan.id, {
        status: 'FAILED',
        reason: 'the server process running it stopped without stopping it',
        from: orphan.status,
        unlessLeaseRenewedAfter: orphan.leaseExpiresAt,
      });
      if (failed) await this.revokeTokens(orphan.id);
    }
    return orphans.length;
  }

  /** What the providers say of live deployments that no process runs itself (RunPod pods): their endpoint URL, and their end. */
  async followRemote(): Promise<void> {
    const live = await this.options.dataSource
      .getRepository(DeploymentEntity)
      .createQueryBuilder('d')
      .where(`d.provider <> 'LOCAL' AND d.status IN ('PROVISIONING', 'STARTING', 'RUNNING') AND d.provider_ref IS NOT NULL`)
      .getMany();
    for (const deployment of live) {
      const provider = this.options.providers.get(deployment.provider);
      if (!provider || !deployment.providerRef) continue;
      try {
        const view = await provider.inspect(deployment.providerRef);
        if (view.status === 'FAILED' || view.status === 'STOPPED') {
          await this.ended(deployment.id, view.status, view.reason ?? `the ${deployment.provider} endpoint ended`);
        } else if (view.endpointUrl && view.endpointUrl !== deployment.endpointUrl) {
          await this.options.dataSource.getRepository(DeploymentEntity).update({ id: deployment.id }, { endpointUrl: view.endpointUrl });
        }
      } catch (error) {
        this.options.log.warn({ err: error, deploymentId: deployment.id }, 'could not inspect a deployment at its provider');
      }
    }
  }

  private async provision(deployment: DeploymentEntity, token: string): Promise<void> {
    const { service, providers, workerId } = this.options;
    const provider = providers.get(deployment.provider);
    const provisioning = await service.change(deployment.id, {
      status: 'PROVISIONING',
      reason: `handed to ${deployment.provider}`,
      set: deployment.provider === 'LOCAL' ? { ownerWorker: workerId, leaseExpiresAt: new Date(Date.now() + LEASE_MS) } : {},
    });
    if (!provisioning || !provider) return;
    try {
      const spec = await this.specOf(provisioning, token);
      const provisioned = await provider.provision(spec, {
        provisioned: async (providerRef) => {
          const recorded = await this.options.dataSource.getRepository(DeploymentEntity).update({ id: deployment.id, status: 'PROVISIONING' }, { providerRef });
          // Stopped while the provider was creating it: what it created must not live on (and bill).
          if (!recorded.affected) throw new DomainError('PRECONDITION_FAILED', `deployment ${deployment.id} was stopped while it was being created`);
        },
        log: (stream, line) => this.logs.write(deployment.id, stream, line),
        ended: (view) => this.quietly('record the end of an endpoint', () => this.ended(deployment.id, view.status, view.reason ?? 'the endpoint ended')),
      });
      const started = await service.change(deployment.id, {
        status: 'STARTING',
        reason: 'started: waiting for its first READY heartbeat',
        from: 'PROVISIONING',
        set: { providerRef: provisioned.providerRef, endpointUrl: provisioned.endpointUrl, startedAt: new Date() },
      });
      if (!started) await provider.terminate(provisioned.providerRef);
    } catch (error) {
      const reason = error instanceof DomainError ? error.message : `the provider failed: ${(error as Error).message}`;
      await this.revokeTokens(deployment.id);
      await service.change(deployment.id, { status: 'FAILED', reason: maskForDisplay(reason), from: 'PROVISIONING' });
      if (!(error instanceof DomainError)) throw error;
    }
  }

  private async ended(deploymentId: string, status: 'PROVISIONING' | 'STARTING' | 'RUNNING' | 'STOPPED' | 'FAILED', reason: string): Promise<void> {
    const current = await this.options.dataSource.getRepository(DeploymentEntity).findOneBy({ id: deploymentId });
    if (!current || isFinal(current.status) || current.status === 'STOPPING') return;
    await this.revokeTokens(deploymentId);
    await this.options.service.change(deploymentId, {
      status: status === 'STOPPED' ? 'STOPPED' : 'FAILED',
      reason: maskForDisplay(reason),
      from: current.status,
    });
  }

  private async onChange(change: DeploymentChange): Promise<void> {
    // Another process stopped a LOCAL deployment this one runs: end its process.
    if (change.event.status !== 'STOPPING' && change.event.status !== 'STOPPED' && change.event.status !== 'FAILED') return;
    const local = this.options.providers.get('LOCAL');
    const deployment = await this.options.dataSource.getRepository(DeploymentEntity).findOneBy({ id: change.deploymentId });
    if (local && deployment?.providerRef && deployment.ownerWorker === this.options.workerId) await local.terminate(deployment.providerRef);
  }

  private async deliverHere(deploymentId: string, env: Record<string, string>): Promise<void> {
    const deployment = await this.options.dataSource.getRepository(DeploymentEntity).findOneBy({ id: deploymentId });
    if (!deployment?.providerRef || isFinal(deployment.status)) return;
    if (deployment.provider === 'LOCAL' && deployment.ownerWorker !== this.options.workerId) return;
    await this.options.providers.get(deployment.provider)?.updateEnvironment(deployment.providerRef, env);
  }

  /** Runs `work` in the background; a failure is logged, never an unhandled rejection. */
  private quietly(what: string, work: () => Promise<unknown>): void {
    work().catch((error: unknown) => this.options.log.warn({ err: error }, `could not ${what}`));
  }

  private async renewLeases(): Promise<void> {
    await this.options.dataSource
      .query(
        `UPDATE deployments SET lease_expires_at = now() + make_interval(secs => $2) WHERE owner_worker = $1 AND status IN ('PROVISIONING', 'STARTING', 'RUNNING', 'STOPPING')`,
        [this.options.workerId, LEASE_MS / 1000],
      )
      .catch((error: unknown) => this.options.log.warn({ err: error }, 'could not renew deployment leases'));
  }

  private async revokeTokens(deploymentId: string): Promise<void> {
    const echo = await this.options.dataSource.transaction(async (manager) => {
      await manager.query(`UPDATE deployment_tokens SET revoked_at = now() WHERE deployment_id = $1 AND revoked_at IS NULL`, [deploymentId]);
      return this.options.tokens.announce(manager, { deploymentId });
    });
    await this.options.tokens.awaitEcho(echo);
  }

  private async specOf(deployment: DeploymentEntity, token: string): Promise<DeploymentSpec> {
    const env: Record<string, string> = {
      MP_DEPLOYMENT_ID: deployment.id,
      MP_DEPLOYMENT_TOKEN: token,
      MP_API_URL: this.options.apiUrl(),
      MP_HEARTBEAT_SECONDS: String(deployment.heartbeatIntervalSeconds),
    };
    if (deployment.signalsUrl) env.MP_SIGNALS_URL = deployment.signalsUrl;
    if (deployment.modelSha256) env.MP_MODEL_SHA256 = deployment.modelSha256;
    if (deployment.modelKind === 'PATH' && deployment.modelRef) env.MP_MODEL_PATH = deployment.modelRef;
    if (deployment.modelKind === 'URL' && deployment.modelRef) env.MP_MODEL_URL = deployment.modelRef;
    if (deployment.modelKind === 'TRAINING_RUN' && deployment.trainingRunId) {
      const artifact = await this.options.dataSource
        .getRepository(TrainingArtifactEntity)
        .findOneByOrFail({ runId: deployment.trainingRunId, name: 'model.json' });
      env.MP_MODEL_URL = this.options.links().downloadUrl(artifact.blobKey, new Date(Date.now() + MODEL_LINK_DAYS * 86_400_000));
    }
    return {
      deploymentId: deployment.id,
      name: `mp-${deployment.id}`,
      templateDir: templateDir(deployment.template),
      image: deployment.image ?? undefined,
      gpuTypes: deployment.gpuTypes,
      gpuCount: deployment.gpuCount,
      cpu: deployment.cpu,
      memoryGb: deployment.memoryGb,
      env,
    };
  }
}
