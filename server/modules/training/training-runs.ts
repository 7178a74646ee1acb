import type { DataSource } from 'typeorm';
import { DomainError, badInput } from '../../domain-error';
import { decodeCursor, pageSize, toConnection, type Connection } from '../../db/pagination';
import type { Notifications } from '../../db/notifications';
import type { Links, StoredFile } from '../../storage';
import type { ComputeProvider, GpuType, ProviderName } from '../../providers/provider';
import type { Principal } from '../identity/principal';
import { TrainingRunEntity, type TrainingRunStatus } from './training-run.entity';
import { TrainingArtifactEntity } from './training-artifact.entity';
import { isFinal } from './run-status';
import { TRAINING_CHANNEL } from './training-events';
import type { MetricSummary as GeneratedMetricSummary, TrainingLogLine } from '../../../generated/server-types';

export type MetricSummary = Omit<GeneratedMetricSummary, '__typename'>;
export type LogLine = Omit<TrainingLogLine, '__typename'>;

/** Reading training runs: a vendor's own runs, their logs, metrics and artifacts, the GPU types on offer. */
export class TrainingRuns {
  constructor(
    private readonly dataSource: DataSource,
    private readonly notifications: Notifications,
    private readonly providers: Map<ProviderName, ComputeProvider>,
  ) {}

  async gpuTypes(provider?: ProviderName | null): Promise<GpuType[]> {
    const names = provider ? [provider] : [...this.providers.keys()];
    const lists = await Promise.all(names.map((name) => this.providers.get(name)?.gpuTypes() ?? Promise.resolve([])));
    return lists.flat();
  }

  async get(principal: Principal | null, id: string): Promise<TrainingRunEntity> {
    const vendorId = requireVendor(principal);
    const run = await this.dataSource.getRepository(TrainingRunEntity).findOneBy({ id, vendorId });
    // Another vendor's run is not there, as far as this caller can tell.
    if (!run) throw new DomainError('NOT_FOUND', `no training run ${id} among yours (see mp train status)`);
    return run;
  }

  async list(
    principal: Principal | null,
    args: { filter?: { status?: TrainingRunStatus[] | null; task?: string | null } | null; first?: number | null; after?: string | null },
  ): Promise<Connection<TrainingRunEntity>> {
    const vendorId = requireVendor(principal);
    const size = pageSize(args.first);
    const after = decodeCursor(args.after, ['time', 'text']) as [string, string] | undefined;
    const query = this.dataSource.getRepository(TrainingRunEntity).createQueryBuilder('run').where('run.vendor_id = :vendorId', { vendorId });
    if (args.filter?.status?.length) query.andWhere('run.status IN (:...statuses)', { statuses: args.filter.status });
    if (args.filter?.task) query.andWhere('run.task = :task', { task: args.filter.task });
    const totalCount = await query.clone().getCount();
    if (after) query.andWhere('(run.queued_at, run.id) < (:queuedAt, :id)', { queuedAt: after[0], id: after[1] });
    const rows = await query
      .orderBy('run.queued_at', 'DESC')
      .addOrderBy('run.id', 'DESC')
      .take(size + 1)
      .getMany();
    return toConnection(rows, size, totalCount, (run) => [run.queuedAt.toISOString(), run.id], Boolean(after));
  }

  async logs(principal: Principal | null, runId: string, after: number, first: number): Promise<{ lines: LogLine[]; lastSeq: number; hasMore: boolean }> {
    await this.get(principal, runId);
    if (!Number.isInteger(first) || first < 1 || first > 1000) throw badInput('first', 'must be between 1 and 1000');
    const lines = await this.linesAfter(runId, Math.max(0, after ?? 0), first + 1);
    return { lines: lines.slice(0, first), lastSeq: lines.slice(0, first).at(-1)?.seq ?? after ?? 0, hasMore: lines.length > first };
  }

  async linesAfter(runId: string, afterSeq: number, limit: number): Promise<LogLine[]> {
    const rows: { seq: number; at: Date; stream: string; line: string }[] = await this.dataSource.query(
      'SELECT seq, at, stream, line FROM training_log_lines WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
      [runId, afterSeq, limit],
    );
    return rows.map((row) => ({ ...row, at: new Date(row.at) }));
  }

  async metricPoints(principal: Principal | null, runId: string, name: string): Promise<{ step: number; value: number; at: Date }[]> {
    await this.get(principal, runId);
    const rows: { step: number; value: number; at: Date }[] = await this.dataSource.query(
      'SELECT step, value, at FROM training_metrics WHERE run_id = $1 AND name = $2 ORDER BY step, at',
      [runId, name],
    );
    return rows.map((row) => ({ step: Number(row.step), value: Number(row.value), at: new Date(row.at) }));
  }

  async metricSummaries(runIds: readonly string[]): Promise<MetricSummary[][]> {
    const rows: (MetricSummary & { run_id: string })[] = await this.dataSource.query(
      `SELECT run_id, name,
              (array_agg(value ORDER BY step DESC, at DESC))[1] AS last,
              max(step) AS step, min(value) AS min, max(value) AS max, count(*) AS count
         FROM training_metrics WHERE run_id = ANY($1) GROUP BY run_id, name ORDER BY name`,
      [[...runIds]],
    );
    return runIds.map((id) =>
      rows
        .filter((row) => row.run_id === id)
        .map((row) => ({
          name: row.name,
          last: Number(row.last),
          step: Number(row.step),
          min: Number(row.min),
          max: Number(row.max),
          count: Number(row.count),
        })),
    );
  }

  async artifactsOf(runIds: readonly string[]): Promise<TrainingArtifactEntity[][]> {
    const rows = await this.dataSource
      .getRepository(TrainingArtifactEntity)
      .createQueryBuilder('artifact')
      .where('artifact.run_id = ANY(:ids)', { ids: [...runIds] })
      .orderBy('artifact.name')
      .getMany();
    return runIds.map((id) => rows.filter((row) => row.runId === id));
  }

  artifactUrl(principal: Principal | null, artifact: TrainingArtifactEntity, expiresInSeconds: number, links: Links): string {
    requireVendor(principal);
    if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 10 || expiresInSeconds > 86_400)
      throw badInput('expiresInSeconds', 'must be between 10 and 86400');
    return links.downloadUrl(artifact.blobKey, new Date(Date.now() + expiresInSeconds * 1000));
  }

  /** Remote jobs upload artifacts only while their run is active. */
  async acceptsUploads(runId: string): Promise<boolean> {
    const rows: { status: string }[] = await this.dataSource.query('SELECT status FROM training_runs WHERE id = $1', [runId]);
    return rows.length > 0 && (rows[0].status === 'STARTING' || rows[0].status === 'RUNNING');
  }

  /** What the file route serves for an artifact's blob. */
  async storedFile(blobKey: string): Promise<StoredFile | null> {
    const artifact = await this.dataSource.getRepository(TrainingArtifactEntity).findOneBy({ blobKey });
    return artifact
      ? { blobKey: artifact.blobKey, sha256: artifact.sha256, sizeBytes: artifact.sizeBytes, name: artifact.name.split('/').pop() ?? artifact.name }
      : null;
  }

  /** Resolve when the run reaches a final status (or the time is up), with the run as it is then. */
  async waitForFinal(runId: string, timeoutMs: number): Promise<TrainingRunEntity> {
    const repository = this.dataSource.getRepository(TrainingRunEntity);
    const deadline = Date.now() + timeoutMs;
    let wake: () => void = () => undefined;
    const unlisten = await this.notifications.listen(TRAINING_CHANNEL, (payload) => {
      if (payload.includes(runId)) wake();
    });
    try {
      for (;;) {
        const run = await repository.findOneByOrFail({ id: runId });
        if (isFinal(run.status) || Date.now() >= deadline) return run;
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, Math.min(500, Math.max(0, deadline - Date.now())));
        });
      }
    } finally {
      await unlisten();
    }
  }
}

/** The vendor a training request acts for; admins and anonymous callers are refused. */
export function requireVendor(principal: Principal | null): string {
  if (!principal) throw new DomainError('UNAUTHENTICATED', 'training needs an API key: run `mp login` (or send Authorization: Bearer vk_...)');
  if (!principal.vendorId) throw new DomainError('FORBIDDEN', 'training runs belong to vendors: use a vendor key');
  return principal.vendorId;
}
