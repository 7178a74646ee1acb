/**
 * Deployments: a vendor's model as a running inference endpoint (LOCAL child process or RunPod
 * pod), its scoped token (sit_...), its heartbeats and health, the live feeds of its changes, and
 * the infrastructure clients (ic_...) that may introspect its token.
 */
import path from 'node:path';
import type { MarketplaceModule } from '../module';
import { newWorkerId } from '../../jobs';
import { LocalDeploymentProvider } from '../../providers/local-deployments';
import { localRunUser } from '../../providers/local/run-user';
import { templatesDir } from '../training/templates';
import { RunPodPodsProvider } from '../../providers/runpod/pods';
import type { DeploymentProvider } from '../../providers/deployment-provider';
import type { ComputeProviderName } from '../../../generated/schema-types';
import { deploymentsResolvers } from './resolvers';
import { DeploymentEntity } from './deployment.entity';
import { DeploymentTokenEntity } from './deployment-token.entity';
import { DeploymentLogLineEntity } from './deployment-log-line.entity';
import { InfraClientEntity } from './infra-client.entity';
import { InfraClients } from './infra-clients';
import { DEPLOYMENT_ID_PREFIX } from './ids';
import { DeploymentsService } from './deployments.service';
import { EgressPolicy } from './egress-policy';
import { DeploymentTokenValidator } from './token-validator';
import { Heartbeats } from './heartbeats';
import { DeploymentFeed } from './deployment-feed';
import { DeploymentRunner } from './deployment-runner';
import { CommandSeal } from './sealed-command';
import { loadSigningSecret } from '../../storage/url-signer';

declare module '../../context' {
  interface Services {
    deployments: DeploymentsService;
    deploymentTokens: DeploymentTokenValidator;
    heartbeats: Heartbeats;
    deploymentFeed: DeploymentFeed;
    infraClients: InfraClients;
  }
}

export const deploymentsModule: MarketplaceModule = {
  name: 'deployments',
  resolvers: deploymentsResolvers,
  entities: [DeploymentEntity, DeploymentTokenEntity, DeploymentLogLineEntity, InfraClientEntity],
  nodes: {
    [DEPLOYMENT_ID_PREFIX]: {
      typename: 'Deployment',
      load: (id, { principal, services }) => (principal?.vendorId ? services.deployments.get(principal, id).catch(() => null) : null),
    },
  },
  async create({ config, database, storage, log, schedule, publicBaseUrl }, services) {
    const tokens = new DeploymentTokenValidator(database.dataSource, database.notifications, log, config.keyCacheTtlMs, config.authFailures);
    // The same user as local training programs (server/providers/registry.ts warns when it falls back).
    const runUser = localRunUser(config.training.localRunUser, [config.training.templatesDir, templatesDir(), process.execPath, require.resolve('tsx/cjs')]);
    const local = new LocalDeploymentProvider({ workRoot: config.training.workRoot, runUser: runUser.name });
    local
      .sweep()
      .then((removed) => {
        if (removed.length > 0)
          log.info({ provider: 'LOCAL', deployments: removed }, 'removed the directories of deployments of a server process that is gone');
      })
      .catch((error: unknown) => log.warn({ err: error, provider: 'LOCAL' }, 'could not remove what deployments of a lost server process left'));
    const providers = new Map<ComputeProviderName, DeploymentProvider>([['LOCAL', local]]);
    if (config.runpodPods)
      providers.set('RUNPOD', new RunPodPodsProvider({ ...config.runpodPods, log: (message) => log.info({ provider: 'RUNPOD' }, message) }));
    const deployments = new DeploymentsService(
      database.dataSource,
      database.notifications,
      tokens,
      new Set(providers.keys()),
      path.join(config.dataDir, 'models'),
      config.deploymentsPerVendor,
      new EgressPolicy(config.localEgressAllowHosts, publicBaseUrl),
      () => `${publicBaseUrl()}/api/signals/store`,
    );
    const infraClients = new InfraClients(database.dataSource, database.notifications, log, config.keyCacheTtlMs, config.authFailures);
    const heartbeats = new Heartbeats(database.dataSource, database.notifications, log);
    const feed = new DeploymentFeed(database.dataSource, database.notifications, log);
    const runner = new DeploymentRunner({
      dataSource: database.dataSource,
      notifications: database.notifications,
      log,
      providers,
      service: deployments,
      tokens,
      workerId: newWorkerId(),
      seal: new CommandSeal(await loadSigningSecret({ secret: config.signingSecret, dataDir: config.dataDir })),
      links: () => storage.links.at(publicBaseUrl()),
      apiUrl: publicBaseUrl,
      shutdownTimeoutMs: config.shutdownTimeoutMs,
    });
    deployments.launch = (deployment, token) => runner.launch(deployment, token);
    deployments.halt = (deployment, reason) => runner.halt(deployment, reason);
    deployments.deliver = (deployment, env) => runner.deliver(deployment, env);
    heartbeats.schedule(schedule);
    schedule.every('deployment-orphans', 10_000, () => runner.failOrphans());
    schedule.every('deployment-providers', 10_000, () => runner.followRemote());
    return {
      services: { deployments, deploymentTokens: tokens, heartbeats, deploymentFeed: feed, infraClients },
      start: async () => {
        await tokens.start();
        // A suspended (or reactivated) vendor's deployment tokens are validated anew, on every process.
        services.keys.onRevoked((revocation) => {
          if (!revocation || 'vendorId' in revocation) tokens.vendorChanged(revocation?.vendorId ?? null);
        });
        await infraClients.start();
        await feed.start();
        await runner.start();
      },
      stopWorkers: () => runner.stop(),
      stop: async () => {
        await feed.stop();
        await tokens.stop();
        await infraClients.stop();
      },
    };
  },
};
