import { LRUCache } from 'lru-cache';
import type { DataSource, SelectQueryBuilder } from 'typeorm';
import type { Notifications } from '../../db/notifications';
import { DomainError, badInput } from '../../domain-error';
import { decodeCursor, pageSize, toConnection, type Connection, type CursorValue } from '../../db/pagination';
import { CatalogSort } from '../../../generated/schema-types';
import type { CatalogFilter } from '../../../generated/server-types';
import { CatalogModelEntity } from './catalog-model.entity';

export type { CatalogFilter, CatalogSort };

/** How each sort orders rows and what its cursor holds (the sort value, then the id as tie-breaker). */
const SORTS: Record<
  CatalogSort,
  { column: string; direction: 'ASC' | 'DESC'; cursor: readonly CursorValue[]; cursorOf: (model: CatalogModelEntity) => unknown[] }
> = {
  PUBLISHED_DESC: {
    column: 'model.published_at',
    direction: 'DESC',
    cursor: ['time?', 'text'],
    cursorOf: (model) => [model.publishedAt?.toISOString() ?? null, model.id],
  },
  CREATED_DESC: { column: 'model.created_at', direction: 'DESC', cursor: ['time', 'text'], cursorOf: (model) => [model.createdAt.toISOString(), model.id] },
  NAME_ASC: { column: 'lower(model.name)', direction: 'ASC', cursor: ['text', 'text'], cursorOf: (model) => [model.name.toLowerCase(), model.id] },
};

/** Any process that changes catalog rows announces it here; every process drops its cached pages. */
export const CATALOG_CHANNEL = 'mp_catalog_changed';

/**
 * The public catalog: published (and deprecated) models, readable without a key. Pages are
 * the hottest public read, so each process keeps recent pages for a few seconds; a change
 * announced on CATALOG_CHANNEL clears them on every process at once.
 */
export class CatalogService {
  private readonly pages = new LRUCache<string, Connection<CatalogModelEntity>>({ max: 1000, ttl: 5_000 });
  private stopListening?: () => Promise<void>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly notifications?: Notifications,
  ) {}

  async start(): Promise<void> {
    this.stopListening = await this.notifications?.listen(CATALOG_CHANNEL, () => this.pages.clear());
    this.notifications?.onReconnect(() => this.pages.clear());
  }

  async stop(): Promise<void> {
    await this.stopListening?.();
  }

  async list(args: {
    filter?: CatalogFilter | null;
    sort?: CatalogSort | null;
    first?: number | null;
    after?: string | null;
  }): Promise<Connection<CatalogModelEntity>> {
    const key = JSON.stringify([args.filter ?? null, args.sort ?? null, args.first ?? null, args.after ?? null]);
    const cached = this.pages.get(key);
    if (cached) return cached;
    const page = await this.load(args);
    this.pages.set(key, page);
    return page;
  }

  private async load(args: {
    filter?: CatalogFilter | null;
    sort?: CatalogSort | null;
    first?: number | null;
    after?: string | null;
  }): Promise<Connection<CatalogModelEntity>> {
    const size = pageSize(args.first);
    const sort = SORTS[args.sort ?? CatalogSort.PublishedDesc];
    const after = decodeCursor(args.after, sort.cursor);
    const query = this.listed();
    applyFilter(query, args.filter ?? {});
    const totalCount = await query.clone().getCount();
    if (after) {
      const operator = sort.direction === 'DESC' ? '<' : '>';
      query.andWhere(`(${sort.column}, model.id) ${operator} (:afterValue, :afterId)`, { afterValue: after[0], afterId: after[1] });
    }
    const rows = await query
      .orderBy(sort.column, sort.direction)
      .addOrderBy('model.id', sort.direction)
      .limit(size + 1)
      .getMany();
    return toConnection(rows, size, totalCount, sort.cursorOf, Boolean(after));
  }

  async get(args: { id?: string | null; slug?: string | null }): Promise<CatalogModelEntity> {
    if (Boolean(args.id) === Boolean(args.slug)) throw badInput('id', 'pass exactly one of id or slug');
    const query = this.listed();
    if (args.id) query.andWhere('model.id = :id', { id: args.id });
    else query.andWhere('model.slug = :slug', { slug: args.slug });
    const model = await query.getOne();
    if (!model) {
      const what = args.id ? `id ${args.id}` : `slug ${args.slug}`;
      throw new DomainError('NOT_FOUND', `no catalog model with ${what} (search with mp catalog list --search)`);
    }
    return model;
  }

  async byId(id: string): Promise<CatalogModelEntity | null> {
    return this.listed().andWhere('model.id = :id', { id }).getOne();
  }

  private listed(): SelectQueryBuilder<CatalogModelEntity> {
    return this.dataSource.getRepository(CatalogModelEntity).createQueryBuilder('model').where(`model.status <> 'DRAFT'`);
  }
}

/** Ten words of a search are plenty; a longer text only costs ILIKE work. */
const MAX_SEARCH_LENGTH = 200;

function applyFilter(query: SelectQueryBuilder<CatalogModelEntity>, filter: CatalogFilter): void {
  if (filter.task) query.andWhere('model.task = :task', { task: filter.task });
  if (filter.vendor) {
    query.andWhere('model.vendor_id IN (SELECT id FROM vendors WHERE id = :vendor OR handle = :vendor)', { vendor: filter.vendor });
  }
  if (filter.tags && filter.tags.length > 0) query.andWhere('model.tags @> :tags', { tags: filter.tags });
  if ((filter.search ?? '').length > MAX_SEARCH_LENGTH) throw badInput('filter.search', `use at most ${MAX_SEARCH_LENGTH} characters`);
  const words = (filter.search ?? '').trim().split(/\s+/).filter(Boolean);
  if (words.length > 10) throw badInput('filter.search', 'use at most 10 words');
  words.forEach((word, index) => {
    const parameter = `word${index}`;
    query.andWhere(
      `(model.name ILIKE :${parameter} OR model.slug ILIKE :${parameter} OR model.description ILIKE :${parameter} OR array_to_string(model.tags, ' ') ILIKE :${parameter})`,
      { [parameter]: `%${escapeLike(word)}%` },
    );
  });
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}
