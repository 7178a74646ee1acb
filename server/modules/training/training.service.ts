import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { DomainError, badInput, type FieldProblem } from '../../domain-error';
import { newId } from '../../db/ids';
import { TRAINING_RUN_ID_PREFIX } from './ids';
import { createOnce, normalizeIdempotencyKey } from '../../idempotency';
import { decodeCursor, pageSize, toConnection, type Connection } from '../../db/pagination';
import type { Notifications } from '../../db/notifications';
import type { Links, StoredFile } from '../../storage';
import type { ComputeProvider, GpuType, ProviderName } from '../../providers/provider';
import type { Principal } from '../identity/principal';
import { DatasetRoundEntity } from '../datasets/dataset-round.entity';
import { TrainingRunEntity, type TrainingRunStatus } from './training-run.entity';
import { TrainingArtifactEntity } from './training-artifact.entity';
import { isFinal, transitionRun } from './run-status';
import { DEFAULT_TEMPLATE, templateDir, validateHyperparameters } from './templates';
import { formatUsd, parseUsd } from './money';
import { TRAINING_CHANNEL, encodeTrainingEvent } from './training-events';
import { ComputeProviderName } from '../../../generated/schema-types';
import type { MetricSummary as GeneratedMetricSummary, TrainingLogLine, TrainingSpecInput as GeneratedSpecInput } from '../../../generated/server-types';

/** The SDL's TrainingSpecInput; callers that skip GraphQL may leave out (or null) what has a default. */
export type TrainingSpecInput = { [K in keyof GeneratedSpecInput]?: GeneratedSpecInput[K] | null } & Pick<GeneratedSpecInput, 'task'>;

/** The same defaults as TrainingSpecInput in schema/training.graphql, for callers that skip GraphQL. */
const SPEC_DEFAULTS = { gpuType: 'CPU', provider: ComputeProviderName.Local, timeoutSeconds: 7200, maxBudgetUsd: '5' };

export type MetricSummary = Omit<GeneratedMetricSummary, '__typename'>;

const MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;
const MAX_BUDGET_USD = 10_000;

/** Training runs: validation, idempotent creation, authorization, stopping, logs and metrics. */
export class TrainingService {
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

  async start(principal: Principal | null, spec: TrainingSpecInput, idempotencyKey: string | null | undefined): Promise<TrainingRunEntity> {
    const vendorId = requireVendor(principal);
    const normalized = await this.validate(spec);
    const specHash = createHash('sha256').update(JSON.stringify(normalized)).digest('hex');
    const run = Object.assign(new TrainingRunEntity(), {
      id: newId(TRAINING_RUN_ID_PREFIX),
      vendorId,
      ...normalized,
      status: 'QUEUED' as TrainingRunStatus,
      providerJobId: null,
      queuedAt: new Date(),
      startedAt: null,
      finishedAt: null,
      exitCode: null,
      failureReason: null,
      costUsd: '0',
      logLineCount: 0,
      history: [{ from: null, to: 'QUEUED' as TrainingRunStatus, at: new Date().toISOString(), reason: null }],
      specHash,
      workerId: null,
      leaseExpiresAt: null,
    });
    const request = { scope: vendorId, operation: 'startTrainingRun', key: normalizeIdempotencyKey(idempotencyKey), requestHash: specHash, describe: (id: string) => `run ${id}` };
    const { id } = await createOnce(this.dataSource, request, async (manager) => {
      await manager.getRepository(TrainingRunEntity).insert(run);
      await this.notifications.notify(manager, TRAINING_CHANNEL, encodeTrainingEvent({ type: 'queued' }));
      return run.id;
    });
    return this.dataSource.getRepository(TrainingRunEntity).findOneByOrFail({ id });
  }

  async stop(principal: Principal | null, id: string): Promise<TrainingRunEntity> {
    const run = await this.get(principal, id);
    if (isFinal(run.status)) throw new DomainError('PRECONDITION_FAILED', `run ${id} already finished (${run.status})`);
    if (run.status === 'QUEUED') {
      try {
        return await this.dataSource.transaction(async (manager) => {
          const stopped = await transitionRun(manager, id, 'CANCELLED', { reason: 'stopped by the vendor before it started' });
          await this.notifications.notify(manager, TRAINING_CHANNEL, encodeTrainingEvent({ type: 'changed', runId: id, final: true }));
          return stopped;
        });
      } catch (error) {
        if (!(error instanceof DomainError) || error.code !== 'PRECONDITION_FAILED') throw error;
        // It was claimed meanwhile: ask its worker, below.
      }
    }
    await this.notifications.notify(this.dataSource, TRAINING_CHANNEL, encodeTrainingEvent({ type: 'stop', runId: id }));
    return this.waitForFinal(id, 15_000);
  }

  async get(principal: Principal | null, id: string): Promise<TrainingRunEntity> {
    const vendorId = requireVendor(principal);
    const run = await this.dataSource.getRepository(TrainingRunEntity).findOneBy({ id, vendorId });
    // Another vendor's run is not there, as far as this caller can tell.
    if (!run) throw new DomainError('NOT_FOUND', `no training run ${id} among yours (see mp train status)`);
    return run;
  }

  async list(principal: Principal | null, args: { filter?: { status?: TrainingRunStatus[] | null; task?: string | null } | null; first?: number | null; after?: string | null }): Promise<Connection<TrainingRunEntity>> {
    const vendorId = requireVendor(principal);
    const size = pageSize(args.first);
    const after = decodeCursor(args.after, 2) as [string, string] | undefined;
    const query = this.dataSource.getRepository(TrainingRunEntity).createQueryBuilder('run').where('run.vendor_id = :vendorId', { vendorId });
    if (args.filter?.status?.length) query.andWhere('run.status IN (:...statuses)', { statuses: args.filter.status });
    if (args.filter?.task) query.andWhere('run.task = :task', { task: args.filter.task });
    const totalCount = await query.clone().getCount();
    if (after) query.andWhere('(run.queued_at, run.id) < (:queuedAt, :id)', { queuedAt: after[0], id: after[1] });
    const rows = await query.orderBy('run.queued_at', 'DESC').addOrderBy('run.id', 'DESC').take(size + 1).getMany();
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
        .map((row) => ({ name: row.name, last: Number(row.last), step: Number(row.step), min: Number(row.min), max: Number(row.max), count: Number(row.count) })),
    );
  }

  async artifactsOf(runIds: readonly string[]): Promise<TrainingArtifactEntity[][]> {
    const rows = await this.dataSource.getRepository(TrainingArtifactEntity).createQueryBuilder('artifact').where('artifact.run_id = ANY(:ids)', { ids: [...runIds] }).orderBy('artifact.name').getMany();
    return runIds.map((id) => rows.filter((row) => row.runId === id));
  }

  artifactUrl(principal: Principal | null, artifact: TrainingArtifactEntity, expiresInSeconds: number, links: Links): string {
    requireVendor(principal);
    if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 10 || expiresInSeconds > 86_400) throw badInput('expiresInSeconds', 'must be between 10 and 86400');
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
    return artifact ? { blobKey: artifact.blobKey, sha256: artifact.sha256, sizeBytes: artifact.sizeBytes, name: artifact.name.split('/').pop() ?? artifact.name } : null;
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

  private async validate(input: TrainingSpecInput): Promise<Omit<TrainingRunEntity, 'id' | 'vendorId' | 'status' | 'providerJobId' | 'queuedAt' | 'startedAt' | 'finishedAt' | 'exitCode' | 'failureReason' | 'costUsd' | 'logLineCount' | 'history' | 'specHash' | 'workerId' | 'leaseExpiresAt'>> {
    const spec = {
      ...input,
      gpuType: input.gpuType ?? SPEC_DEFAULTS.gpuType,
      provider: input.provider ?? SPEC_DEFAULTS.provider,
      timeoutSeconds: input.timeoutSeconds ?? SPEC_DEFAULTS.timeoutSeconds,
      maxBudgetUsd: input.maxBudgetUsd ?? SPEC_DEFAULTS.maxBudgetUsd,
    };
    const problems: FieldProblem[] = [];
    const provider = this.providers.get(spec.provider);
    if (!provider) {
      throw new DomainError('PRECONDITION_FAILED', `the ${spec.provider} provider is not configured on this server${spec.provider === 'RUNPOD' ? ' (set RUNPOD_API_KEY and RUNPOD_ENDPOINT_ID)' : ''}`);
    }
    if (spec.template && spec.image) problems.push({ field: 'spec.image', message: 'give a template or an image, not both' });
    if (spec.image && spec.provider !== 'RUNPOD') problems.push({ field: 'spec.image', message: 'images run on RUNPOD only; LOCAL runs a template' });
    const template = spec.image ? null : spec.template?.trim() || DEFAULT_TEMPLATE;
    if (template) {
      try {
        templateDir(template);
        problems.push(...validateHyperparameters(template, spec.hyperparameters ?? []));
      } catch (error) {
        if (error instanceof DomainError) problems.push(...(error.details.fields ?? []));
        else throw error;
      }
    }
    if (!Number.isInteger(spec.timeoutSeconds) || spec.timeoutSeconds < 60 || spec.timeoutSeconds > MAX_TIMEOUT_SECONDS) {
      problems.push({ field: 'spec.timeoutSeconds', message: `must be between 60 and ${MAX_TIMEOUT_SECONDS} (7 days)` });
    }
    let budget = '';
    try {
      budget = formatUsd(parseUsd('spec.maxBudgetUsd', spec.maxBudgetUsd, { max: MAX_BUDGET_USD }));
    } catch (error) {
      if (error instanceof DomainError) problems.push(...(error.details.fields ?? []));
      else throw error;
    }
    const gpus = await provider.gpuTypes();
    if (!gpus.some((gpu) => gpu.id === spec.gpuType)) {
      problems.push({ field: 'spec.gpuType', message: `unknown GPU type ${spec.gpuType} for ${spec.provider}: use one of ${gpus.map((gpu) => gpu.id).join(', ')}` });
    }
    if (problems.length > 0) throw new DomainError('BAD_USER_INPUT', problems.map((problem) => `${problem.field}: ${problem.message}`).join('; '), { fields: problems });

    const round = await this.trainableRound(spec.round);
    return {
      task: spec.task,
      roundNumber: round.number,
      template,
      image: spec.image?.trim() || null,
      hyperparameters: (spec.hyperparameters ?? []).map(({ name, value }) => ({ name, value })).sort((a, b) => a.name.localeCompare(b.name)),
      gpuType: spec.gpuType,
      provider: spec.provider,
      timeoutSeconds: spec.timeoutSeconds,
      maxBudgetUsd: budget,
    };
  }

  private async trainableRound(number: number | null | undefined): Promise<DatasetRoundEntity> {
    const repository = this.dataSource.getRepository(DatasetRoundEntity);
    if (number === null || number === undefined) {
      const current = await repository.findOne({ where: { status: 'OPEN' }, order: { number: 'DESC' } });
      if (!current) throw new DomainError('PRECONDITION_FAILED', 'no round is open right now: pass a round number (mp data list)');
      return current;
    }
    const round = await repository.findOneBy({ number });
    if (!round || round.status === 'UPCOMING') throw new DomainError('NOT_FOUND', `no round ${number} (see mp data list)`, { fields: [{ field: 'spec.round', message: 'unknown round' }] });
    if (round.status !== 'OPEN') throw new DomainError('PRECONDITION_FAILED', `round ${number} is ${round.status}: training needs an OPEN round`);
    return round;
  }
}

export type LogLine = Omit<TrainingLogLine, '__typename'>;

function requireVendor(principal: Principal | null): string {
  if (!principal) throw new DomainError('UNAUTHENTICATED', 'training needs an API key: run `mp login` (or send Authorization: Bearer vk_...)');
  if (!principal.vendorId) throw new DomainError('FORBIDDEN', 'training runs belong to vendors: use a vendor key');
  return principal.vendorId;
}
