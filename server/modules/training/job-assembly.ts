import { createReadStream } from 'node:fs';
import type { DataSource } from 'typeorm';
import type { Logger } from '../../logger';
import type { BlobStore, Links } from '../../storage';
import type { ComputeProvider, JobOutcome, TrainingJob } from '../../providers/provider';
import { DatasetFileEntity } from '../datasets/dataset-file.entity';
import type { TrainingRunEntity } from './training-run.entity';
import { TrainingArtifactEntity } from './training-artifact.entity';
import { templateDir } from './templates';

/** What a provider gets for a run: its GPU, the round's files as signed links (outliving the timeout), its hyperparameters. */
export async function assembleJob(dataSource: DataSource, links: Links, run: TrainingRunEntity, provider: ComputeProvider): Promise<TrainingJob> {
  const gpuType = (await provider.gpuTypes()).find((gpu) => gpu.id === run.gpuType);
  if (!gpuType) throw new Error(`GPU type ${run.gpuType} is no longer offered by ${run.provider}`);
  const files = await dataSource.getRepository(DatasetFileEntity).findBy({ roundNumber: run.roundNumber });
  // The provider fetches the files itself; the URLs outlive the run's timeout.
  const expiresAt = new Date(Date.now() + (run.timeoutSeconds + 3600) * 1000);
  return {
    runId: run.id,
    task: run.task,
    roundNumber: run.roundNumber,
    files: files
      .filter((file) => file.kind !== 'RESOLUTION')
      .map((file) => ({
        name: file.name,
        kind: file.kind,
        sha256: file.sha256,
        sizeBytes: file.sizeBytes,
        url: links.downloadUrl(file.blobKey, expiresAt),
      })),
    hyperparameters: Object.fromEntries(run.hyperparameters.map(({ name, value }) => [name, value])),
    gpuType,
    timeoutSeconds: run.timeoutSeconds,
    templateDir: run.template ? templateDir(run.template) : '',
    image: run.image ?? undefined,
    artifactUploadUrl: run.provider === 'RUNPOD' ? links.uploadUrl(`runs/${run.id}`, expiresAt) : undefined,
  };
}

/** Records a finished job's artifacts: local files go into the blob store; a remote job's own uploads are checked. */
export async function storeArtifacts(dataSource: DataSource, blobs: BlobStore, log: Logger, runId: string, outcome: JobOutcome): Promise<void> {
  for (const artifact of outcome.artifacts) {
    let blobKey = artifact.blobKey;
    let sizeBytes = artifact.sizeBytes;
    let sha256 = artifact.sha256;
    if (artifact.localPath) {
      const stored = await blobs.put(`runs/${runId}/${artifact.name}`, createReadStream(artifact.localPath));
      ({ key: blobKey, sizeBytes, sha256 } = stored);
    }
    if (!blobKey) continue;
    if (!artifact.localPath) {
      // A remote job reports what it uploaded: only this run's own upload, as big as it says, is recorded.
      const expected = `runs/${runId}/${artifact.name}`;
      const stored = blobKey === expected ? await blobs.stat(blobKey) : null;
      if (!stored || stored.sizeBytes !== sizeBytes) {
        log.warn({ runId, artifact: artifact.name }, 'ignoring an artifact the job reported but did not upload to its own upload URL');
        continue;
      }
    }
    await dataSource
      .getRepository(TrainingArtifactEntity)
      .upsert({ runId, name: artifact.name, sizeBytes, sha256, blobKey, createdAt: new Date() }, ['runId', 'name']);
  }
}
