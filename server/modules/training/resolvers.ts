import type { Resolvers } from '../../../generated/server-types';
import type { TrainingLogEvent } from './log-hub';
import type { TrainingRunEntity } from './training-run.entity';
import { HyperparameterValueScalar } from './hyperparameter-scalar';
import { trainingTemplates } from './templates';

export const trainingResolvers: Resolvers = {
  HyperparameterValue: HyperparameterValueScalar,

  Query: {
    trainingRuns: (_parent, args, { principal, services }) => services.trainingRuns.list(principal, args),
    trainingRun: (_parent, { id }, { principal, services }) => services.trainingRuns.get(principal, id),
    trainingLogs: (_parent, { runId, after, first }, { principal, services }) => services.trainingRuns.logs(principal, runId, after ?? 0, first ?? 500),
    trainingMetrics: (_parent, { runId, name }, { principal, services }) => services.trainingRuns.metricPoints(principal, runId, name),
    gpuTypes: (_parent, { provider }, { services }) => services.trainingRuns.gpuTypes(provider),
    trainingTemplates: () => trainingTemplates(),
  },

  Mutation: {
    startTrainingRun: (_parent, { spec, idempotencyKey }, { principal, services, idempotencyKey: header }) =>
      services.training.start(principal, { ...spec, hyperparameters: spec.hyperparameters ?? [] }, idempotencyKey ?? header),
    stopTrainingRun: (_parent, { id }, { principal, services }) => services.training.stop(principal, id),
  },

  Subscription: {
    trainingLogs: {
      subscribe: async (_parent, { runId, afterSeq }, { principal, services }) => {
        await services.trainingRuns.get(principal, runId); // NOT_FOUND for another vendor's run
        return services.trainingLogs.follow(runId, afterSeq ?? 0);
      },
      resolve: (event: TrainingLogEvent) => event,
    },
    trainingRunUpdated: {
      subscribe: async (_parent, { runId }, { principal, services }) => {
        await services.trainingRuns.get(principal, runId);
        return services.trainingLogs.updates(runId);
      },
      resolve: (run: TrainingRunEntity) => run,
    },
  },

  TrainingRun: {
    vendor: async (run, _args, { loaders }) => (await loaders.vendorById.load(run.vendorId))!,
    spec: (run) => ({
      task: run.task,
      round: run.roundNumber,
      template: run.template,
      image: run.image,
      hyperparameters: run.hyperparameters,
      gpuType: run.gpuType,
      provider: run.provider,
      timeoutSeconds: run.timeoutSeconds,
      maxBudgetUsd: run.maxBudgetUsd,
    }),
    costUsd: (run) => run.costUsd,
    metrics: (run, _args, { loaders }) => loaders.metricsByRun.load(run.id),
    artifacts: (run, _args, { loaders }) => loaders.artifactsByRun.load(run.id),
    history: (run) => run.history.map((change) => ({ ...change, at: new Date(change.at) })),
  },

  TrainingArtifact: {
    downloadUrl: (artifact, { expiresInSeconds }, { principal, services, links }) =>
      services.trainingRuns.artifactUrl(principal, artifact, expiresInSeconds, links),
  },
};
