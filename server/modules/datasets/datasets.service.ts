import { LRUCache } from 'lru-cache';
import type { DataSource, EntityManager } from 'typeorm';
import { DomainError, badInput } from '../../domain-error';
import { decodeCursor, pageSize, toConnection, type Connection } from '../../db/pagination';
import type { BlobStore, Links, StoredFile } from '../../storage';
import type { Principal } from '../identity/principal';
import { DatasetFileKind, DatasetRoundStatus } from '../../../generated/schema-types';
import { DatasetRoundEntity } from './dataset-round.entity';
import { DatasetFileEntity } from './dataset-file.entity';
import { transitionRound } from './round-status';
import { RoundInputError, buildResolution, buildRound, parseCsvRecords, parsePricesCsv, type PriceRow } from './round-builder';

export interface CreateRoundInput {
  prices: PriceRow[];
  horizonDays: number;
  name?: string;
  description?: string;
  open?: boolean;
  /** Dates in the LIVE split (default: the horizon, at least 20). */
  liveDays?: number;
  by: string;
}

/** Runs inside the transaction that marks a round RESOLVED (scoring queues the round from here). */
export type RoundResolvedListener = (manager: EntityManager, round: DatasetRoundEntity) => Promise<void>;

/** Each symbol's daily closes on the round's calendar (ascending dates), null where it has none. */
export interface RoundCloses {
  dates: string[];
  closes: Record<string, (number | null)[]>;
}

const closesKey = (round: number): string => `rounds/${round}/closes.json`;

function closesOf(prices: readonly PriceRow[]): RoundCloses {
  const dates = [...new Set(prices.map((row) => row.date))].sort();
  const at = new Map(dates.map((date, index) => [date, index]));
  const closes: Record<string, (number | null)[]> = {};
  for (const row of prices) (closes[row.symbol] ??= dates.map(() => null))[at.get(row.date)!] = row.close;
  return { dates, closes };
}

const MIN_URL_SECONDS = 10;
const MAX_URL_SECONDS = 86_400;

/** Dataset rounds: who sees which, the status machine, building and resolving, signed downloads. */
export class DatasetsService {
  private readonly resolvedListeners: RoundResolvedListener[] = [];
  private readonly closesCache = new LRUCache<number, RoundCloses>({ max: 4 });

  constructor(
    private readonly dataSource: DataSource,
    private readonly blobs: BlobStore,
  ) {}

  onResolved(listener: RoundResolvedListener): void {
    this.resolvedListeners.push(listener);
  }

  /**
   * The daily closes a round was built from (what the optimizer estimates covariances from), or
   * null for a round built before they were kept. Not a round file: it is read here, never downloaded.
   */
  async closes(roundNumber: number): Promise<RoundCloses | null> {
    const cached = this.closesCache.get(roundNumber);
    if (cached) return cached;
    if (!(await this.blobs.stat(closesKey(roundNumber)))) return null;
    const chunks: Buffer[] = [];
    for await (const chunk of this.blobs.read(closesKey(roundNumber))) chunks.push(Buffer.from(chunk));
    const closes = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RoundCloses;
    this.closesCache.set(roundNumber, closes);
    return closes;
  }

  /** A round file's header and rows (our own CSV), or null when the round has no file of that kind. */
  async readFile(roundNumber: number, kind: DatasetFileKind): Promise<{ columns: string[]; rows: string[][] } | null> {
    const [files] = await this.filesOf([roundNumber]);
    const file = files.find((candidate) => candidate.kind === kind);
    if (!file) return null;
    const chunks: Buffer[] = [];
    for await (const chunk of this.blobs.read(file.blobKey)) chunks.push(Buffer.from(chunk));
    const [header, ...rows] = parseCsvRecords(Buffer.concat(chunks).toString('utf8')).map((record) => record.fields);
    return { columns: header ?? [], rows };
  }

  async list(
    principal: Principal | null,
    args: { status?: DatasetRoundStatus | null; first?: number | null; after?: string | null },
  ): Promise<Connection<DatasetRoundEntity>> {
    const size = pageSize(args.first);
    const after = decodeCursor(args.after, ['integer']) as [number] | undefined;
    const query = this.dataSource.getRepository(DatasetRoundEntity).createQueryBuilder('round');
    if (principal?.role !== 'ADMIN') query.andWhere(`round.status <> 'UPCOMING'`);
    if (args.status) query.andWhere('round.status = :status', { status: args.status });
    const totalCount = await query.clone().getCount();
    if (after) query.andWhere('round.number < :after', { after: after[0] });
    const rows = await query
      .orderBy('round.number', 'DESC')
      .take(size + 1)
      .getMany();
    return toConnection(rows, size, totalCount, (round) => [round.number], Boolean(after));
  }

  async get(principal: Principal | null, number: number): Promise<DatasetRoundEntity> {
    const round = await this.dataSource.getRepository(DatasetRoundEntity).findOneBy({ number });
    if (!round || (round.status === 'UPCOMING' && principal?.role !== 'ADMIN')) {
      throw new DomainError('NOT_FOUND', `no round ${number} (see mp data list)`);
    }
    return round;
  }

  async current(): Promise<DatasetRoundEntity | null> {
    return this.dataSource.getRepository(DatasetRoundEntity).findOne({ where: { status: 'OPEN' }, order: { number: 'DESC' } });
  }

  async filesOf(roundNumbers: readonly number[]): Promise<DatasetFileEntity[][]> {
    const files = await this.dataSource
      .getRepository(DatasetFileEntity)
      .createQueryBuilder('file')
      .where('file.round_number = ANY(:numbers)', { numbers: [...roundNumbers] })
      .getMany();
    const order: readonly DatasetFileKind[] = [DatasetFileKind.Train, DatasetFileKind.Validation, DatasetFileKind.Live, DatasetFileKind.Resolution];
    return roundNumbers.map((number) => files.filter((file) => file.roundNumber === number).sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind)));
  }

  /** A short-lived URL bound to the file's path; the file route checks it. */
  downloadUrl(principal: Principal | null, file: DatasetFileEntity, expiresInSeconds: number, links: Links): string {
    if (!principal) throw new DomainError('UNAUTHENTICATED', 'downloading round files needs an API key: run `mp login` (or send Authorization: Bearer vk_...)');
    if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < MIN_URL_SECONDS || expiresInSeconds > MAX_URL_SECONDS) {
      throw badInput('expiresInSeconds', `must be between ${MIN_URL_SECONDS} and ${MAX_URL_SECONDS}`);
    }
    return links.downloadUrl(file.blobKey, new Date(Date.now() + expiresInSeconds * 1000));
  }

  /** What the file route serves for a round file's blob. */
  async storedFile(blobKey: string): Promise<StoredFile | null> {
    const file = await this.dataSource.getRepository(DatasetFileEntity).findOneBy({ blobKey });
    return file ? { blobKey: file.blobKey, sha256: file.sha256, sizeBytes: file.sizeBytes, name: file.name } : null;
  }

  async changeStatus(principal: Principal | null, number: number, to: DatasetRoundStatus): Promise<DatasetRoundEntity> {
    if (principal?.role !== 'ADMIN') throw new DomainError('FORBIDDEN', 'changing a round needs an operator (admin) key');
    return this.changeStatusAs(number, to, `admin key ${principal.apiKeyId}`);
  }

  async changeStatusAs(number: number, to: DatasetRoundStatus, by: string): Promise<DatasetRoundEntity> {
    if (to === 'RESOLVED') throw new DomainError('PRECONDITION_FAILED', 'a round is resolved with newer prices: mp-server rounds resolve N --from FILE');
    return this.dataSource.transaction(async (manager) => {
      const repository = manager.getRepository(DatasetRoundEntity);
      const round = await repository.createQueryBuilder('round').setLock('pessimistic_write').where('round.number = :number', { number }).getOne();
      if (!round) throw new DomainError('NOT_FOUND', `no round ${number}`);
      transitionRound(round, to, by);
      await repository.save(round);
      return round;
    });
  }

  /**
   * Build a round from prices. The files are written to the blob store first (each one
   * complete and fsynced, or not at all); the round and its file records are inserted in
   * one transaction after that, so no record ever points at a partial file.
   */
  async createRound(input: CreateRoundInput): Promise<DatasetRoundEntity> {
    const built = buildRound(input.prices, { horizonDays: input.horizonDays, liveDays: input.liveDays });
    const repository = this.dataSource.getRepository(DatasetRoundEntity);
    const latest = await repository.createQueryBuilder('round').select('MAX(round.number)', 'max').getRawOne<{ max: number | null }>();
    const number = (latest?.max ?? 0) + 1;

    await this.blobs.put(closesKey(number), JSON.stringify(closesOf(input.prices)));
    const files: DatasetFileEntity[] = [];
    for (const file of built.files) {
      const blob = await this.blobs.put(`rounds/${number}/${file.name}`, file.content);
      files.push(
        Object.assign(new DatasetFileEntity(), {
          roundNumber: number,
          kind: file.kind,
          name: file.name,
          format: 'csv',
          sizeBytes: blob.sizeBytes,
          sha256: blob.sha256,
          rowCount: file.rowCount,
          columns: file.columns,
          blobKey: blob.key,
          createdAt: new Date(),
        }),
      );
    }

    const round = Object.assign(new DatasetRoundEntity(), {
      number,
      name: input.name?.trim() || `Round ${number}`,
      status: DatasetRoundStatus.Upcoming,
      description: input.description ?? '',
      opensAt: null,
      closesAt: null,
      resolvesAt: null,
      createdAt: new Date(),
      symbols: built.symbols,
      horizonDays: built.horizonDays,
      featureNames: built.featureNames,
      splits: built.splits,
      targetThresholds: built.targetThresholds,
      statusHistory: [{ from: null, to: DatasetRoundStatus.Upcoming, at: new Date().toISOString(), by: input.by }],
    });
    if (input.open) transitionRound(round, 'OPEN', input.by);

    try {
      await this.dataSource.transaction(async (manager) => {
        await manager.getRepository(DatasetRoundEntity).insert(round);
        await manager.getRepository(DatasetFileEntity).insert(files);
      });
    } catch (error) {
      if ((error as { code?: string }).code === '23505' || /duplicate key/.test(String(error))) {
        throw new DomainError('CONFLICT', `round ${number} was created by someone else meanwhile: run the command again`);
      }
      throw error;
    }
    return round;
  }

  /** The resolveRound mutation: an admin's CSV text; its problems come back as BAD_USER_INPUT on pricesCsv. */
  async resolveFromCsv(principal: Principal | null, number: number, csv: string, symbol?: string | null): Promise<DatasetRoundEntity> {
    if (principal?.role !== 'ADMIN') throw new DomainError('FORBIDDEN', 'resolving a round needs an operator (admin) key');
    try {
      return await this.resolveRound(number, parsePricesCsv(csv, { symbol: symbol ?? undefined }), `admin key ${principal.apiKeyId}`);
    } catch (error) {
      if (error instanceof RoundInputError) throw badInput('pricesCsv', error.message);
      throw error;
    }
  }

  /** Add the RESOLUTION file (realized targets of the live period) from newer prices, and mark the round RESOLVED. */
  async resolveRound(number: number, prices: PriceRow[], by: string): Promise<DatasetRoundEntity> {
    const round = await this.dataSource.getRepository(DatasetRoundEntity).findOneBy({ number });
    if (!round) throw new DomainError('NOT_FOUND', `no round ${number}`);
    if (round.status !== 'CLOSED') {
      throw new DomainError(
        'PRECONDITION_FAILED',
        `round ${number} is ${round.status}: only a CLOSED round can be resolved (mp-server rounds close ${number})`,
      );
    }
    const [files] = await this.filesOf([number]);
    const liveFile = files.find((file) => file.kind === 'LIVE');
    if (!liveFile) throw new DomainError('PRECONDITION_FAILED', `round ${number} has no live file to resolve`);
    const live = await this.readLiveKeys(liveFile.blobKey);
    const resolution = buildResolution(prices, { horizonDays: round.horizonDays, targetThresholds: round.targetThresholds, live });
    const blob = await this.blobs.put(`rounds/${number}/${resolution.name}`, resolution.content);

    return this.dataSource.transaction(async (manager) => {
      const repository = manager.getRepository(DatasetRoundEntity);
      const locked = await repository.createQueryBuilder('round').setLock('pessimistic_write').where('round.number = :number', { number }).getOne();
      if (!locked) throw new DomainError('NOT_FOUND', `no round ${number}`);
      transitionRound(locked, 'RESOLVED', by);
      await manager.getRepository(DatasetFileEntity).insert(
        Object.assign(new DatasetFileEntity(), {
          roundNumber: number,
          kind: DatasetFileKind.Resolution,
          name: resolution.name,
          format: 'csv',
          sizeBytes: blob.sizeBytes,
          sha256: blob.sha256,
          rowCount: resolution.rowCount,
          columns: resolution.columns,
          blobKey: blob.key,
          createdAt: new Date(),
        }),
      );
      await repository.save(locked);
      for (const listener of this.resolvedListeners) await listener(manager, locked);
      return locked;
    });
  }

  private async readLiveKeys(blobKey: string): Promise<{ symbol: string; date: string }[]> {
    let text = '';
    for await (const chunk of this.blobs.read(blobKey)) text += chunk.toString();
    const [header, ...lines] = text.split('\n').filter(Boolean);
    const columns = header.split(',');
    const symbolAt = columns.indexOf('symbol');
    const dateAt = columns.indexOf('date');
    return lines.map((line) => {
      const cells = line.split(',');
      return { symbol: cells[symbolAt], date: cells[dateAt] };
    });
  }
}
