import type { DataSource } from 'typeorm';
import { DomainError, type FieldProblem } from '../../domain-error';
import { newId } from '../../db/ids';
import type { Notifications } from '../../db/notifications';
import type { RegisterModelInput } from '../../../generated/server-types';
import type { Principal } from '../identity/principal';
import { VendorEntity } from '../identity/vendor.entity';
import { requireVendor } from '../training/training-runs';
import { CATALOG_CHANNEL } from '../catalog/catalog.service';
import { CatalogModelEntity } from '../catalog/catalog-model.entity';
import { CATALOG_MODEL_ID_PREFIX } from '../catalog/ids';
import type { DeploymentsService } from '../deployments/deployments.service';
import type { TrainingRuns } from '../training/training-runs';

const MAX_TAGS = 10;

/** `<handle>/<name in lowercase, runs of anything else as ->`. */
function slugOf(handle: string, name: string): string {
  return `${handle}/${name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')}`;
}

/**
 * `mp register` and `mp unregister`: a vendor publishes one of its models in the catalog, served
 * by one of its deployments (whose signals carry the model from then on), or hides it again.
 * Registering a name the vendor already uses updates that model; slugs are unique across vendors.
 */
export class ModelRegistration {
  constructor(
    private readonly dataSource: DataSource,
    private readonly notifications: Notifications,
    private readonly deployments: DeploymentsService,
    private readonly trainingRuns: TrainingRuns,
  ) {}

  async register(principal: Principal | null, input: RegisterModelInput): Promise<CatalogModelEntity> {
    const vendorId = requireVendor(principal);
    const problems: FieldProblem[] = [];
    const name = input.name.trim();
    if (name.length < 1 || name.length > 64 || !/[A-Za-z0-9]/.test(name))
      problems.push({ field: 'name', message: 'must be 1 to 64 characters with a letter or digit' });
    const description = (input.description ?? '').trim();
    if (description.length > 2000) problems.push({ field: 'description', message: 'at most 2,000 characters' });
    const tags = [...new Set((input.tags ?? []).map((tag) => tag.trim().toLowerCase()))];
    if (tags.length > MAX_TAGS || tags.some((tag) => !/^[a-z0-9][a-z0-9-]{0,31}$/.test(tag))) {
      problems.push({ field: 'tags', message: `at most ${MAX_TAGS}, each 1 to 32 lowercase letters, digits or -` });
    }
    if (problems.length > 0)
      throw new DomainError('BAD_USER_INPUT', problems.map((problem) => `${problem.field}: ${problem.message}`).join('; '), { fields: problems });
    // Another vendor's deployment or run is NOT_FOUND, as if it did not exist.
    const deployment = input.deploymentId ? await this.deployments.get(principal, input.deploymentId) : null;
    if (input.trainingRunId) await this.trainingRuns.get(principal, input.trainingRunId);

    const saved = await this.dataSource.transaction(async (manager) => {
      const vendor = await manager.getRepository(VendorEntity).findOneByOrFail({ id: vendorId });
      const repository = manager.getRepository(CatalogModelEntity);
      const existing = await repository.findOneBy({ vendorId, name });
      const slug = existing?.slug ?? slugOf(vendor.handle, name);
      const taken = await repository.findOneBy({ slug });
      if (taken && taken.id !== existing?.id) {
        throw new DomainError('CONFLICT', `the slug ${slug} is taken by another of your models (${taken.name}): pick another name`);
      }
      const now = new Date();
      const model = Object.assign(existing ?? new CatalogModelEntity(), {
        id: existing?.id ?? newId(CATALOG_MODEL_ID_PREFIX),
        vendorId,
        name,
        slug,
        description: input.description === undefined || input.description === null ? (existing?.description ?? '') : description,
        task: input.task ?? existing?.task ?? 'SIGNAL',
        tags: input.tags ? tags : (existing?.tags ?? []),
        status: 'PUBLISHED' as const,
        createdAt: existing?.createdAt ?? now,
        publishedAt: existing?.publishedAt ?? now,
        deploymentId: deployment?.id ?? existing?.deploymentId ?? null,
        trainingRunId: input.trainingRunId ?? existing?.trainingRunId ?? deployment?.trainingRunId ?? null,
      });
      // A deployment serves one model: registering it for another moves it.
      if (deployment) await manager.query(`UPDATE catalog_models SET deployment_id = NULL WHERE deployment_id = $1 AND id <> $2`, [deployment.id, model.id]);
      await repository.save(model);
      await this.notifications.notify(manager, CATALOG_CHANNEL, JSON.stringify({ modelId: model.id }));
      return model;
    });
    return saved;
  }

  async unregister(principal: Principal | null, ref: { id?: string | null; slug?: string | null }): Promise<CatalogModelEntity> {
    const vendorId = requireVendor(principal);
    if (Boolean(ref.id) === Boolean(ref.slug))
      throw new DomainError('BAD_USER_INPUT', 'pass exactly one of id or slug', { fields: [{ field: 'id', message: 'id or slug' }] });
    return this.dataSource.transaction(async (manager) => {
      const repository = manager.getRepository(CatalogModelEntity);
      const model = await repository.findOneBy(ref.id ? { id: ref.id, vendorId } : { slug: ref.slug!, vendorId });
      if (!model) throw new DomainError('NOT_FOUND', `no model ${ref.id ?? ref.slug} among yours (see mp catalog list --vendor <your handle>)`);
      model.status = 'DRAFT';
      await repository.save(model);
      await this.notifications.notify(manager, CATALOG_CHANNEL, JSON.stringify({ modelId: model.id }));
      return model;
    });
  }
}
