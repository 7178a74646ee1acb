import { badInput } from '../../domain-error';
import { FALLBACK_GPU_TYPES, mapCatalog, shortGpuId } from './catalog';
import type { RunPodHttp } from './http';

/**
 * Our GPU ids (`A100`, `RTX4090`: the ids `gpuTypes(provider: RUNPOD)` lists) as RunPod's
 * (`NVIDIA A100 80GB PCIe`), read from `GET /v2/catalog/gpus` and cached. The ids come from the
 * same `mapCatalog` the training provider uses, so a vendor's "A100" means the same GPU for a
 * training run and for a deployment. Pods can also run on GPUs that have no serverless price
 * (which mapCatalog leaves out): those answer to their short id when it is free, and any
 * catalog GPU answers to RunPod's own id.
 */

const CATALOG_TTL_MS = 10 * 60 * 1000;
/** A fallback is kept for a minute only, so the real catalog is tried again soon. */
const FALLBACK_TTL_MS = 60 * 1000;

export interface GpuCandidate {
  /** What the vendor asked for (`A100`). */
  ourId: string;
  /** What RunPod calls it (`NVIDIA A100 80GB PCIe`). */
  runpodId: string;
}

interface Table {
  byOurId: Map<string, string>;
  runpodIds: Set<string>;
  fromFallback: boolean;
  expiresAt: number;
}

export class PodGpuCatalog {
  private table: Table | null = null;
  private loading: Promise<Table> | null = null;

  constructor(
    private readonly http: RunPodHttp,
    private readonly restBaseUrl: string,
    private readonly maxRetries: number,
    private readonly log: (message: string) => void,
  ) {}

  /** The candidates in the order asked; BAD_USER_INPUT naming every id RunPod does not know. */
  async resolve(ourIds: readonly string[]): Promise<GpuCandidate[]> {
    const table = await this.current();
    const candidates: GpuCandidate[] = [];
    const unknown: string[] = [];
    for (const ourId of ourIds) {
      const runpodId = table.byOurId.get(ourId.toUpperCase()) ?? (table.runpodIds.has(ourId) ? ourId : undefined);
      if (runpodId === undefined) unknown.push(ourId);
      else if (!candidates.some((candidate) => candidate.runpodId === runpodId)) candidates.push({ ourId, runpodId });
    }
    if (unknown.length > 0) {
      const known = [...table.byOurId.keys()].join(', ');
      const source = table.fromFallback ? ' (the RunPod GPU catalog could not be read, so only the built-in table was used)' : '';
      throw badInput('gpuTypes', `RunPod has no GPU type ${unknown.map((id) => JSON.stringify(id)).join(', ')}; known: ${known}${source}`);
    }
    return candidates;
  }

  private async current(): Promise<Table> {
    if (this.table && this.table.expiresAt > Date.now()) return this.table;
    this.loading ??= this.load().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private async load(): Promise<Table> {
    try {
      const { body } = await this.http.request({
        method: 'GET',
        url: `${this.restBaseUrl}/v2/catalog/gpus`,
        label: 'GET /v2/catalog/gpus',
        mode: 'idempotent',
        maxRetries: Math.min(this.maxRetries, 2),
        timeoutMs: 15_000,
      });
      this.table = tableOf(body, Date.now() + CATALOG_TTL_MS);
    } catch (error) {
      this.log(this.http.mask(`RunPod GPU catalog unavailable (${error instanceof Error ? error.message : String(error)}); using the built-in GPU table`));
      this.table = {
        byOurId: new Map(FALLBACK_GPU_TYPES.map((type) => [type.id, type.providerGpuId])),
        runpodIds: new Set(FALLBACK_GPU_TYPES.map((type) => type.providerGpuId)),
        fromFallback: true,
        expiresAt: Date.now() + FALLBACK_TTL_MS,
      };
    }
    return this.table;
  }
}

function tableOf(body: unknown, expiresAt: number): Table {
  const { gpuTypes } = mapCatalog(body);
  const byOurId = new Map(gpuTypes.map((type) => [type.id, type.providerGpuId]));
  const gpus = (body as { gpus: unknown[] }).gpus;
  const runpodIds = new Set(
    gpus
      .map((gpu) => (gpu && typeof gpu === 'object' ? (gpu as { id?: unknown }).id : undefined))
      .filter((id): id is string => typeof id === 'string' && id !== ''),
  );
  for (const runpodId of runpodIds) {
    const short = shortGpuId(runpodId);
    if (!byOurId.has(short)) byOurId.set(short, runpodId);
  }
  if (byOurId.size === 0) throw new Error('the catalog lists no GPU');
  return { byOurId, runpodIds, fromFallback: false, expiresAt };
}
