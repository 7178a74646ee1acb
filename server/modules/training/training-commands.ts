import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { DomainError, type FieldProblem } from '../../domain-error';
import { newId } from '../../db/ids';
import { createOnce, normalizeIdempotencyKey } from '../../idempotency';
import type { Notifications } from '../../db/notifications';
import type { ComputeProvider, GpuType, ProviderName } from '../../providers/provider';
import type { Principal } from '../identity/principal';
import { DatasetRoundEntity } from '../datasets/dataset-round.entity';
import { TrainingRunEntity, type TrainingRunStatus } from './training-run.entity';
import { TRAINING_RUN_ID_PREFIX } from './ids';
import { isFinal, transitionRun } from './run-status';
import { DEFAULT_TEMPLATE, declaredTasks, trainingTemplateDir, validateHyperparameters } from './templates';
import { invalidSpec } from './spec-problems';
import { formatUsd, parseUsd } from './money';
import { TRAINING_CHANNEL, encodeTrainingEvent } from './training-events';
import { requireVendor, type TrainingRuns } from './training-runs';
import { ComputeProviderName } from '../../../generated/schema-types';
import type { TrainingSpecInput as GeneratedSpecInput } from '../../../generated/server-types';

/** The SDL's TrainingSpecInput; callers that skip GraphQL may leave out (or null) what has a default. */
export type TrainingSpecInput = { [K in keyof GeneratedSpecInput]?: GeneratedSpecInput[K] | null } & Pick<GeneratedSpecInput, 'task'>;

/** The same defaults as TrainingSpecInput in schema/training.graphql, for callers that skip GraphQL. */
const SPEC_DEFAULTS = { gpuType: 'CPU', provider: ComputeProviderName.Local, timeoutSeconds: 7200, maxBudgetUsd: '5' };

const MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;
const MAX_BUDGET_USD = 10_000;

export interface TrainingCommandsOptions {
  /** MP_PUBLIC_URL is set: RunPod workers fetch round files and upload artifacts through it. */
  publicUrlSet: boolean;
}

/** Changing training runs: validating a spec and queueing it (idempotently), stopping a run. */
export class TrainingCommands {
  constructor(
    private readonly dataSource: DataSource,
    private readonly notifications: Notifications,
    private readonly providers: Map<ProviderName, ComputeProvider>,
    private readonly runs: TrainingRuns,
    private readonly options: TrainingCommandsOptions,
  ) {}

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
      costStatus: 'MEASURED' as const,
      costNote: null,
      logLineCount: 0,
      history: [{ from: null, to: 'QUEUED' as TrainingRunStatus, at: new Date().toISOString(), reason: null }],
      specHash,
      workerId: null,
      leaseExpiresAt: null,
    });
    const request = {
      scope: vendorId,
      operation: 'startTrainingRun',
      key: normalizeIdempotencyKey(idempotencyKey),
      requestHash: specHash,
      describe: (id: string) => `run ${id}`,
    };
    const { id } = await createOnce(this.dataSource, request, async (manager) => {
      await manager.getRepository(TrainingRunEntity).insert(run);
      await this.notifications.notify(manager, TRAINING_CHANNEL, encodeTrainingEvent({ type: 'queued' }));
      return run.id;
    });
    return this.dataSource.getRepository(TrainingRunEntity).findOneByOrFail({ id });
  }

  async stop(principal: Principal | null, id: string): Promise<TrainingRunEntity> {
    const run = await this.runs.get(principal, id);
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
    return this.runs.waitForFinal(id, 15_000);
  }

  private async validate(
    input: TrainingSpecInput,
  ): Promise<
    Omit<
      TrainingRunEntity,
      | 'id'
      | 'vendorId'
      | 'status'
      | 'providerJobId'
      | 'queuedAt'
      | 'startedAt'
      | 'finishedAt'
      | 'exitCode'
      | 'failureReason'
      | 'costUsd'
      | 'costStatus'
      | 'costNote'
      | 'logLineCount'
      | 'history'
      | 'specHash'
      | 'workerId'
      | 'leaseExpiresAt'
    >
  > {
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
      throw new DomainError(
        'PRECONDITION_FAILED',
        `the ${spec.provider} provider is not configured on this server${spec.provider === 'RUNPOD' ? ' (set RUNPOD_API_KEY and RUNPOD_ENDPOINTS)' : ''}`,
      );
    }
    if (spec.provider === 'RUNPOD' && !this.options.publicUrlSet) throw runpodNeedsPublicUrl();
    if (spec.template && spec.image) problems.push({ field: 'spec.image', message: 'give a template or an image, not both' });
    if (spec.image && spec.provider !== 'RUNPOD') problems.push({ field: 'spec.image', message: 'images run on RUNPOD only; LOCAL runs a template' });
    const template = spec.image ? null : spec.template?.trim() || DEFAULT_TEMPLATE;
    if (template) {
      try {
        trainingTemplateDir(template);
        problems.push(...validateHyperparameters(template, spec.hyperparameters ?? []));
        const tasks = declaredTasks(template);
        if (tasks && !tasks.includes(spec.task)) {
          problems.push({ field: 'spec.task', message: `template ${template} trains ${tasks.join(' and ') || 'no'} models, not ${spec.task}` });
        }
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
    if (!gpus.some((gpu) => gpu.id === spec.gpuType)) problems.push({ field: 'spec.gpuType', message: unofferedGpu(spec.provider, spec.gpuType, gpus) });
    if (problems.length > 0) throw invalidSpec(problems);

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
    if (!round || round.status === 'UPCOMING')
      throw new DomainError('NOT_FOUND', `no round ${number} (see mp data list)`, { fields: [{ field: 'spec.round', message: 'unknown round' }] });
    if (round.status !== 'OPEN') throw new DomainError('PRECONDITION_FAILED', `round ${number} is ${round.status}: training needs an OPEN round`);
    return round;
  }
}

/** Without MP_PUBLIC_URL the signed links would name the listen address (127.0.0.1...), which no RunPod worker reaches. */
export function runpodNeedsPublicUrl(): DomainError {
  return new DomainError(
    'PRECONDITION_FAILED',
    'RUNPOD runs need MP_PUBLIC_URL on this server: a RunPod worker downloads the round files and uploads artifacts through signed links to it, and without it they would point at the listen address, which no RunPod worker can reach',
  );
}

/** Why a provider does not offer a GPU type: LOCAL has none (it runs on the CPU); RUNPOD has no endpoint for it. */
function unofferedGpu(provider: ProviderName, gpuType: string, offered: readonly GpuType[]): string {
  const ids = offered.map((gpu) => gpu.id).join(', ');
  if (provider === 'LOCAL') {
    return `LOCAL runs on this machine's CPU, not on a GPU: use gpuType CPU${gpuType === 'CPU' ? '' : `, or provider RUNPOD for ${gpuType} (mp gpus lists what each provider offers)`}`;
  }
  if (offered.length === 0) return `no RunPod endpoint's GPU types are known right now (RUNPOD_ENDPOINTS, or RunPod could not be read): try again shortly`;
  return `no RunPod endpoint of this server runs ${gpuType}: use one of ${ids} (RUNPOD_ENDPOINTS maps GPU types to the endpoints created with them)`;
}
