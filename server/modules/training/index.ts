/**
 * Training: managed training runs on a compute provider (a local child process, or RunPod),
 * with live logs and metrics, budgets and timeouts, and artifacts kept in the blob store.
 */
import DataLoader from 'dataloader';
import type { MarketplaceModule } from '../module';
import { trainingResolvers } from './resolvers';
import { TrainingRuns, type MetricSummary } from './training-runs';
import { TrainingCommands, runpodNeedsPublicUrl } from './training-commands';
import { TrainingWorker } from './training-worker';
import { TrainingLogHub } from './log-hub';
import { TrainingRunEntity } from './training-run.entity';
import { TrainingArtifactEntity } from './training-artifact.entity';
import { TRAINING_RUN_ID_PREFIX } from './ids';
import { useExtraTemplates } from './templates';
import { configuredSecrets } from '../../configured-secrets';

declare module '../../context' {
  interface Services {
    /** Starting and stopping runs. */
    training: TrainingCommands;
    /** Reading runs, logs, metrics and artifacts. */
    trainingRuns: TrainingRuns;
    trainingLogs: TrainingLogHub;
    /** Runs queued training runs (absent with MP_TRAINING_WORKER=false). */
    trainingWorker: TrainingWorker | undefined;
  }
  interface Loaders {
    metricsByRun: DataLoader<string, MetricSummary[]>;
    artifactsByRun: DataLoader<string, TrainingArtifactEntity[]>;
  }
}

const UPLOAD_SCOPE = /^runs\/(run_[A-Za-z0-9]+)$/;

export const trainingModule: MarketplaceModule = {
  name: 'training',
  resolvers: trainingResolvers,
  entities: [TrainingRunEntity, TrainingArtifactEntity],
  nodes: {
    [TRAINING_RUN_ID_PREFIX]: {
      typename: 'TrainingRun',
      load: (id, { principal, services }) => (principal?.vendorId ? services.trainingRuns.get(principal, id).catch(() => null) : null),
    },
  },
  async create({ config, database, storage, providers, log, publicBaseUrl }) {
    useExtraTemplates(config.training.templatesDir);
    const trainingRuns = new TrainingRuns(database.dataSource, database.notifications, providers);
    const publicUrlSet = config.publicUrl !== undefined;
    if (providers.has('RUNPOD') && !publicUrlSet) log.warn({ provider: 'RUNPOD' }, runpodNeedsPublicUrl().message);
    const training = new TrainingCommands(database.dataSource, database.notifications, providers, trainingRuns, { publicUrlSet });
    const trainingLogs = new TrainingLogHub(database.dataSource, database.notifications, trainingRuns);
    const worker = config.training.worker
      ? new TrainingWorker(database.dataSource, database.notifications, providers, storage.blobs, storage.links, log, {
          concurrency: config.training.concurrency,
          perVendorConcurrency: config.training.perVendorConcurrency,
          leaseSeconds: config.training.leaseSeconds,
          secrets: await configuredSecrets(config),
          publicBaseUrl,
          publicUrlSet,
          liveLogs: trainingLogs,
          asyncLogCommit: database.kind === 'postgres',
        })
      : undefined;
    return {
      services: { training, trainingRuns, trainingLogs, trainingWorker: worker },
      loaders: () => ({
        metricsByRun: new DataLoader((ids: readonly string[]) => trainingRuns.metricSummaries(ids)),
        artifactsByRun: new DataLoader((ids: readonly string[]) => trainingRuns.artifactsOf(ids)),
      }),
      storedFile: (blobKey) => trainingRuns.storedFile(blobKey),
      acceptsUpload: async (scope) => {
        const runId = UPLOAD_SCOPE.exec(scope)?.[1];
        return runId ? trainingRuns.acceptsUploads(runId) : false;
      },
      start: () => trainingLogs.start(),
      // The worker starts once the files it hands to providers can be fetched.
      startWorkers: async () => {
        worker?.start().catch((error: unknown) => log.error({ err: error }, 'the training worker could not start; runs stay queued'));
      },
      stopWorkers: async () => worker?.stop(),
      stop: () => trainingLogs.stop(),
    };
  },
};
