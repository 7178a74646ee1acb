import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { DataSource, EntityManager } from 'typeorm';
import { DomainError, badInput, type FieldProblem } from '../../domain-error';
import { newId } from '../../db/ids';
import { decodeCursor, pageSize, toConnection, type Connection } from '../../db/pagination';
import type { Notifications } from '../../db/notifications';
import { createOnce, normalizeIdempotencyKey } from '../../idempotency';
import { hashSecret } from '../../tokens/secret-hash';
import type { Principal } from '../identity/principal';
import { requireVendor } from '../training/training-runs';
import { TrainingRunEntity } from '../training/training-run.entity';
import { TrainingArtifactEntity } from '../training/training-artifact.entity';
import type { CreateDeploymentInput, DeploymentFilter } from '../../../generated/server-types';
import type { ComputeProviderName, DeploymentStatus, ModelSourceKind } from '../../../generated/schema-types';
import { DeploymentEntity } from './deployment.entity';
import { DeploymentTokenEntity } from './deployment-token.entity';
import { DeploymentLogLineEntity } from './deployment-log-line.entity';
import { DEPLOYMENT_SCOPES, deploymentTokenFormat } from './deployment-token';
import { DEPLOYMENT_ID_PREFIX, DEPLOYMENT_TOKEN_ID_PREFIX } from './ids';
import { applyChange, requireAction, type Change } from './lifecycle';
import type { EgressPolicy } from './egress-policy';
import type { DeploymentTokenValidator } from './token-validator';

export const DEFAULT_SERVING_TEMPLATE = 'runpod-signal-http';
/** The most requests per minute a deployment's token may be allowed (`rateLimitPerMinute`). */
export const MAX_RATE_LIMIT_PER_MINUTE = 100_000;
const SERVING_TEMPLATES = [DEFAULT_SERVING_TEMPLATE];

/** The input with its defaults applied, as stored and hashed for idempotency. */
interface NormalizedInput {
  name: string;
  provider: ComputeProviderName;
  template: string;
  modelKind: ModelSourceKind;
  modelRef: string | null;
  modelSha256: string | null;
  trainingRunId: string | null;
  gpuTypes: string[];
  gpuCount: number;
  cpu: number;
  memoryGb: number;
  image: string | null;
  heartbeatIntervalSeconds: number;
  rateLimitPerMinute: number;
  signalsUrl: string | null;
}

/** Called once a deployment row exists, to hand it to its provider (deployment-runner.ts). */
export type Launch = (deployment: DeploymentEntity, token: string) => void;

/** A vendor's deployments: creating (idempotently), reading, stopping, rotating the token, linking. */
export class DeploymentsService {
  /** Set by the module once the runner exists. */
  launch: Launch = () => undefined;
  /** Set by the module: stops the deployment at its provider and revokes its token. */
  halt: (deployment: DeploymentEntity, reason: string) => Promise<DeploymentEntity> = async (deployment) => deployment;
  /** Set by the module: delivers a changed environment to a running deployment. */
  deliver: (deployment: DeploymentEntity, env: Record<string, string>) => Promise<void> = async () => undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly notifications: Notifications,
    private readonly tokens: DeploymentTokenValidator,
    private readonly providers: ReadonlySet<ComputeProviderName>,
    /** Where LOCAL deployments may take a model file from (MP_DATA_DIR/models): nothing else on the machine is the vendor's to read. */
    private readonly modelsDir: string,
    /** How many live deployments (not STOPPED or FAILED) a vendor may have on each provider. */
    private readonly perVendor: Readonly<Record<ComputeProviderName, number>>,
    /** Where a vendor may point a LOCAL deployment (model.url, signalsUrl). */
    private readonly egress: EgressPolicy,
    /** The marketplace's own signal store (`POST /api/signals/store` here): where a link without a URL points. */
    private readonly ownSignalStore: () => string,
  ) {}

  async get(principal: Principal | null, id: string): Promise<DeploymentEntity> {
    const vendorId = requireVendor(principal);
    const deployment = await this.dataSource.getRepository(DeploymentEntity).findOneBy({ id, vendorId });
    if (!deployment) throw new DomainError('NOT_FOUND', `no deployment ${id} among yours (see mp deploy list)`);
    return deployment;
  }

  async list(
    principal: Principal | null,
    args: { filter?: DeploymentFilter | null; first?: number | null; after?: string | null },
  ): Promise<Connection<DeploymentEntity>> {
    const vendorId = requireVendor(principal);
    const size = pageSize(args.first);
    const after = decodeCursor(args.after, ['time', 'text']) as [string, string] | undefined;
    const query = this.dataSource.getRepository(DeploymentEntity).createQueryBuilder('d').where('d.vendor_id = :vendorId', { vendorId });
    if (args.filter?.status?.length) query.andWhere('d.status IN (:...statuses)', { statuses: args.filter.status });
    const totalCount = await query.clone().getCount();
    if (after) query.andWhere('(d.created_at, d.id) < (:createdAt, :id)', { createdAt: after[0], id: after[1] });
    const rows = await query
      .orderBy('d.created_at', 'DESC')
      .addOrderBy('d.id', 'DESC')
      .take(size + 1)
      .getMany();
    return toConnection(rows, size, totalCount, (row) => [row.createdAt.toISOString(), row.id], Boolean(after));
  }

  async logs(principal: Principal | null, id: string, last: number): Promise<string[]> {
    await this.get(principal, id);
    if (!Number.isInteger(last) || last < 1 || last > 1000) throw badInput('last', 'must be 1 to 1000');
    const rows = await this.dataSource
      .getRepository(DeploymentLogLineEntity)
      .createQueryBuilder('l')
      .where('l.deployment_id = :id', { id })
      .orderBy('l.seq', 'DESC')
      .take(last)
      .getMany();
    return rows.reverse().map((row) => `${row.at.toISOString()} ${row.stream} ${row.line}`);
  }

  async create(
    principal: Principal | null,
    input: CreateDeploymentInput,
    idempotencyKey: string | null | undefined,
  ): Promise<{ deployment: DeploymentEntity; token: string | null }> {
    const vendorId = requireVendor(principal);
    const normalized = await this.validate(vendorId, input);
    const requestHash = createHash('sha256').update(JSON.stringify(normalized)).digest('hex');
    const generated = deploymentTokenFormat.generate();
    const id = newId(DEPLOYMENT_ID_PREFIX);
    const secretHash = await hashSecret(generated.token);
    const now = new Date();
    const deployment = Object.assign(new DeploymentEntity(), {
      id,
      vendorId,
      ...normalized,
      providerRef: null,
      endpointUrl: null,
      status: 'PENDING' as DeploymentStatus,
      health: 'UNKNOWN' as const,
      lastHeartbeatAt: null,
      lastHeartbeat: null,
      tokenPrefix: deploymentTokenFormat.displayPrefix(generated.lookup),
      history: [{ at: now.toISOString(), status: 'PENDING' as DeploymentStatus, health: 'UNKNOWN' as const, reason: 'created by the vendor' }],
      ownerWorker: null,
      leaseExpiresAt: null,
      startedAt: null,
      createdAt: now,
      updatedAt: now,
    });
    const request = {
      scope: vendorId,
      operation: 'createDeployment',
      key: normalizeIdempotencyKey(idempotencyKey),
      requestHash,
      describe: (resultId: string) => `deployment ${resultId}`,
    };
    const { id: resultId, replayed } = await createOnce(this.dataSource, request, async (manager) => {
      // One create at a time per vendor, so two at once cannot both pass the checks below.
      await manager.query(`SELECT id FROM vendors WHERE id = $1 FOR UPDATE`, [vendorId]);
      await this.refuseOverQuota(manager, vendorId, normalized.provider);
      await this.refuseTakenName(manager, vendorId, normalized.name);
      await manager.getRepository(DeploymentEntity).insert(deployment);
      await manager.getRepository(DeploymentTokenEntity).insert(this.tokenRow(id, vendorId, generated.lookup, secretHash));
      return id;
    });
    const stored = await this.dataSource.getRepository(DeploymentEntity).findOneByOrFail({ id: resultId });
    if (replayed) return { deployment: stored, token: null };
    this.launch(stored, generated.token);
    return { deployment: stored, token: generated.token };
  }

  async stop(principal: Principal | null, id: string): Promise<DeploymentEntity> {
    const deployment = await this.get(principal, id);
    requireAction(deployment, 'STOP');
    return this.halt(deployment, 'stopped by the vendor');
  }

  /** A new token; the old one is revoked and the change announced before this returns. */
  async rotateToken(principal: Principal | null, id: string): Promise<{ deployment: DeploymentEntity; token: string }> {
    const deployment = await this.get(principal, id);
    requireAction(deployment, 'ROTATE_TOKEN');
    const generated = deploymentTokenFormat.generate();
    const secretHash = await hashSecret(generated.token);
    const echo = await this.dataSource.transaction(async (manager) => {
      await manager.query(`UPDATE deployment_tokens SET revoked_at = now() WHERE deployment_id = $1 AND revoked_at IS NULL`, [id]);
      await manager.getRepository(DeploymentTokenEntity).insert(this.tokenRow(id, deployment.vendorId, generated.lookup, secretHash));
      await manager
        .getRepository(DeploymentEntity)
        .update({ id }, { tokenPrefix: deploymentTokenFormat.displayPrefix(generated.lookup), updatedAt: new Date() });
      return this.tokens.announce(manager, { deploymentId: id });
    });
    await this.tokens.awaitEcho(echo);
    const updated = await this.dataSource.getRepository(DeploymentEntity).findOneByOrFail({ id });
    await this.deliver(updated, { MP_DEPLOYMENT_TOKEN: generated.token });
    return { deployment: updated, token: generated.token };
  }

  async link(principal: Principal | null, id: string, signalsUrl: string | null | undefined): Promise<DeploymentEntity> {
    const deployment = await this.get(principal, id);
    requireAction(deployment, 'LINK_INFRA');
    const url = signalsUrl ? checkedUrl('signalsUrl', signalsUrl) : this.ownSignalStore();
    if (signalsUrl && deployment.provider === 'LOCAL') await this.egress.check('signalsUrl', url);
    await this.dataSource.getRepository(DeploymentEntity).update({ id }, { signalsUrl: url, updatedAt: new Date() });
    const updated = await this.dataSource.getRepository(DeploymentEntity).findOneByOrFail({ id });
    await this.deliver(updated, { MP_SIGNALS_URL: url });
    return updated;
  }

  /**
   * Applies `change` through the lifecycle to the deployment as it is now. With `from`, only while
   * it still has that status (null otherwise: the caller's decision was about another state).
   */
  async change(id: string, change: Change & { from?: DeploymentStatus }): Promise<DeploymentEntity | null> {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const current = await this.dataSource.getRepository(DeploymentEntity).findOneBy({ id });
      if (!current || (change.from !== undefined && current.status !== change.from)) return null;
      const changed = await this.dataSource.transaction((manager) => applyChange(manager, this.notifications, current, change));
      if (changed || change.from !== undefined) return changed;
    }
    return null;
  }

  private tokenRow(deploymentId: string, vendorId: string, lookup: string, secretHash: string): DeploymentTokenEntity {
    return Object.assign(new DeploymentTokenEntity(), {
      id: newId(DEPLOYMENT_TOKEN_ID_PREFIX),
      deploymentId,
      vendorId,
      lookup,
      secretHash,
      scopes: [...DEPLOYMENT_SCOPES],
      createdAt: new Date(),
      revokedAt: null,
    });
  }

  private async refuseOverQuota(manager: EntityManager, vendorId: string, provider: ComputeProviderName): Promise<void> {
    const limit = this.perVendor[provider];
    const live = await manager
      .getRepository(DeploymentEntity)
      .createQueryBuilder('d')
      .where('d.vendor_id = :vendorId AND d.provider = :provider', { vendorId, provider })
      .andWhere(`d.status NOT IN ('STOPPED', 'FAILED')`)
      .getCount();
    if (live >= limit) {
      const setting = `MP_${provider}_DEPLOYMENTS_PER_VENDOR`;
      throw new DomainError(
        'PRECONDITION_FAILED',
        limit === 0
          ? `${provider} deployments are turned off on this server (${setting}=0)`
          : `you have ${live} ${provider} deployments running, the most this server allows (${setting}=${limit}): stop one first (mp deploy list, mp deploy stop <id>)`,
      );
    }
  }

  private async refuseTakenName(manager: EntityManager, vendorId: string, name: string): Promise<void> {
    const taken = await manager
      .getRepository(DeploymentEntity)
      .createQueryBuilder('d')
      .where('d.vendor_id = :vendorId AND d.name = :name', { vendorId, name })
      .andWhere(`d.status NOT IN ('STOPPED', 'FAILED')`)
      .getOne();
    if (taken) throw new DomainError('CONFLICT', `you already have a deployment named "${name}" (${taken.id}, ${taken.status}): stop it or pick another name`);
  }

  private async validate(vendorId: string, input: CreateDeploymentInput): Promise<NormalizedInput> {
    const problems: FieldProblem[] = [];
    const name = input.name.trim();
    if (name.length < 1 || name.length > 64 || !/^[\w .-]+$/.test(name)) {
      problems.push({ field: 'name', message: 'must be 1 to 64 letters, digits, spaces, _, . or -' });
    }
    const provider = input.provider ?? 'LOCAL';
    if (!this.providers.has(provider)) {
      problems.push({ field: 'provider', message: `${provider} is not configured on this server (set RUNPOD_API_KEY for RUNPOD)` });
    }
    const template = input.template ?? DEFAULT_SERVING_TEMPLATE;
    if (!SERVING_TEMPLATES.includes(template))
      problems.push({ field: 'template', message: `unknown serving template (known: ${SERVING_TEMPLATES.join(', ')})` });
    const gpuTypes = input.gpuTypes ?? [];
    const image = input.image?.trim() || null;
    if (provider === 'RUNPOD' && !image) problems.push({ field: 'image', message: 'a RUNPOD deployment needs a container image (--image)' });
    const bounded = (field: string, value: number | null | undefined, fallback: number, min: number, max: number) => {
      const chosen = value ?? fallback;
      if (!Number.isInteger(chosen) || chosen < min || chosen > max) problems.push({ field, message: `must be an integer from ${min} to ${max}` });
      return chosen;
    };
    const gpuCount = bounded('gpuCount', input.gpuCount, 1, 1, 8);
    const cpu = bounded('cpu', input.cpu, 2, 1, 64);
    const memoryGb = bounded('memoryGb', input.memoryGb, 4, 1, 512);
    const heartbeatIntervalSeconds = bounded('heartbeatIntervalSeconds', input.heartbeatIntervalSeconds, 10, 1, 300);
    const rateLimitPerMinute = bounded('rateLimitPerMinute', input.rateLimitPerMinute, 60, 1, MAX_RATE_LIMIT_PER_MINUTE);
    let signalsUrl: string | null = null;
    try {
      signalsUrl = input.signalsUrl ? checkedUrl('signalsUrl', input.signalsUrl) : null;
    } catch (error) {
      if (error instanceof DomainError && error.details.fields) problems.push(...error.details.fields);
    }
    if (signalsUrl && provider === 'LOCAL') await this.checkEgress('signalsUrl', signalsUrl, problems);
    const model = await this.modelSource(vendorId, input, provider, problems);
    if (problems.length > 0) {
      throw new DomainError('BAD_USER_INPUT', problems.map((problem) => `${problem.field}: ${problem.message}`).join('; '), { fields: problems });
    }
    return { name, provider, template, ...model, gpuTypes, gpuCount, cpu, memoryGb, image, heartbeatIntervalSeconds, rateLimitPerMinute, signalsUrl };
  }

  private async modelSource(
    vendorId: string,
    input: CreateDeploymentInput,
    provider: ComputeProviderName,
    problems: FieldProblem[],
  ): Promise<Pick<NormalizedInput, 'modelKind' | 'modelRef' | 'modelSha256' | 'trainingRunId'>> {
    const model = input.model;
    const given = [model?.trainingRunId, model?.path, model?.url].filter(Boolean);
    if (given.length > 1) problems.push({ field: 'model', message: 'give one of trainingRunId, path or url' });
    const sha256 = model?.sha256?.toLowerCase() ?? null;
    if (sha256 && !/^[0-9a-f]{64}$/.test(sha256)) problems.push({ field: 'model.sha256', message: 'must be 64 hexadecimal characters' });
    if (model?.trainingRunId) {
      const run = await this.dataSource.getRepository(TrainingRunEntity).findOneBy({ id: model.trainingRunId, vendorId });
      // Another vendor's run is not there, as far as this caller can tell.
      if (!run) throw new DomainError('NOT_FOUND', `no training run ${model.trainingRunId} among yours (see mp train status)`);
      const artifact = await this.dataSource.getRepository(TrainingArtifactEntity).findOneBy({ runId: run.id, name: 'model.json' });
      if (!artifact) problems.push({ field: 'model.trainingRunId', message: `run ${run.id} (${run.status}) has no model.json artifact to serve` });
      return { modelKind: 'TRAINING_RUN', modelRef: run.id, modelSha256: artifact?.sha256 ?? null, trainingRunId: run.id };
    }
    if (model?.path) {
      if (provider !== 'LOCAL') problems.push({ field: 'model.path', message: 'a path works only for LOCAL deployments: give a url for RUNPOD' });
      const resolved = path.resolve(this.modelsDir, model.path);
      if (provider === 'LOCAL' && !resolved.startsWith(this.modelsDir + path.sep)) {
        problems.push({
          field: 'model.path',
          message: `must be a file under ${this.modelsDir} (the server's model directory): give a url or a training run otherwise`,
        });
      }
      if (provider === 'LOCAL' && resolved.startsWith(this.modelsDir + path.sep) && !(await isFile(resolved))) {
        problems.push({ field: 'model.path', message: `there is no file ${resolved} in the server's model directory (the operator puts model files there)` });
      }
      return { modelKind: 'PATH', modelRef: resolved, modelSha256: sha256, trainingRunId: null };
    }
    if (model?.url) {
      let url: string | null = null;
      try {
        url = checkedUrl('model.url', model.url);
      } catch (error) {
        if (error instanceof DomainError && error.details.fields) problems.push(...error.details.fields);
      }
      if (url && provider === 'LOCAL') await this.checkEgress('model.url', url, problems);
      return { modelKind: 'URL', modelRef: url, modelSha256: sha256, trainingRunId: null };
    }
    return { modelKind: 'BUILT_IN', modelRef: null, modelSha256: null, trainingRunId: null };
  }

  private async checkEgress(field: string, url: string, problems: FieldProblem[]): Promise<void> {
    try {
      await this.egress.check(field, url);
    } catch (error) {
      if (!(error instanceof DomainError) || !error.details.fields) throw error;
      problems.push(...error.details.fields);
    }
  }
}

async function isFile(file: string): Promise<boolean> {
  return stat(file).then(
    (info) => info.isFile(),
    () => false,
  );
}

function checkedUrl(field: string, text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw badInput(field, 'must be an absolute http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw badInput(field, 'must be an http(s) URL');
  return url.toString();
}
