import type { Resolvers } from '../../../generated/server-types';
import type { DeploymentEntity } from './deployment.entity';
import type { DeploymentHealthEvent } from './deployment-feed';
import { actionsFor } from './lifecycle';
import { JSONObjectScalar } from './json-object-scalar';

export const deploymentsResolvers: Resolvers = {
  JSONObject: JSONObjectScalar,

  Query: {
    deployments: (_parent, args, { principal, services }) => services.deployments.list(principal, args),
    deployment: (_parent, { id }, { principal, services }) => services.deployments.get(principal, id),
  },

  Mutation: {
    createDeployment: (_parent, { input, idempotencyKey }, { principal, services, idempotencyKey: header }) =>
      services.deployments.create(principal, input, idempotencyKey ?? header),
    stopDeployment: (_parent, { id }, { principal, services }) => services.deployments.stop(principal, id),
    rotateDeploymentToken: (_parent, { id }, { principal, services }) => services.deployments.rotateToken(principal, id),
    linkDeployment: (_parent, { id, signalsUrl }, { principal, services }) => services.deployments.link(principal, id, signalsUrl),
    sendHeartbeat: (_parent, { input }, { deployment, services }) => services.heartbeats.receive(deployment, input),
  },

  Subscription: {
    deploymentHealth: {
      subscribe: (_parent, { deploymentId }, { principal, services }) =>
        services.deploymentFeed.health(deploymentId, () => services.deployments.get(principal, deploymentId)),
      resolve: (event: DeploymentHealthEvent) => event,
    },
    deploymentUpdated: {
      subscribe: async (_parent, _args, { principal, services }) => services.deploymentFeed.updates(principal),
      resolve: (deployment: DeploymentEntity) => deployment,
    },
  },

  Deployment: {
    vendor: async (deployment, _args, { loaders }) => (await loaders.vendorById.load(deployment.vendorId))!,
    trainingRun: (deployment, _args, { principal, services }) =>
      deployment.trainingRunId ? services.trainingRuns.get(principal, deployment.trainingRunId).catch(() => null) : null,
    model: (deployment) => ({ kind: deployment.modelKind, ref: deployment.modelRef, sha256: deployment.modelSha256 }),
    resources: (deployment) => ({
      gpuTypes: deployment.gpuTypes,
      gpuCount: deployment.gpuCount,
      cpu: deployment.cpu,
      memoryGb: deployment.memoryGb,
      image: deployment.image,
    }),
    actions: (deployment) => actionsFor(deployment.status),
    lastHeartbeat: (deployment) => (deployment.lastHeartbeat ? { ...deployment.lastHeartbeat, at: new Date(deployment.lastHeartbeat.at) } : null),
    history: (deployment) => deployment.history.map((event) => ({ ...event, at: new Date(event.at) })),
    logs: (deployment, { last }, { principal, services }) => services.deployments.logs(principal, deployment.id, last ?? 100),
  },
};
