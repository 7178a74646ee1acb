import type { GpuType } from '../provider';

/**
 * RunPod's GPU catalog (`GET /v2/catalog/gpus`, openapi-v2.json `ListGpuTypesResponse`):
 * `{ gpus: [{ id: "NVIDIA GeForce RTX 4090", name: "RTX 4090", pool: "ADA_24", memory: 24,
 * price: { secure: 0.44, community: 0.31, serverless: 1.1 }, ... }] }`. Prices are USD per GPU
 * per hour as JSON numbers; `price.serverless` (the pool's rate) is what a serverless job bills
 * and is absent when the GPU is in no serverless pool, so such GPUs are left out.
 */
export interface RunPodCatalogGpu {
  id: string;
  name?: string;
  pool?: string | null;
  memory?: number;
  price?: { secure?: number; community?: number; serverless?: number };
}

/**
 * Where the built-in prices come from, and when they were read: RunPod's serverless pricing
 * table (docs.runpod.io/serverless/pricing, flex workers, USD per second x 3600), December 2026.
 * Serverless rates, not pod rates: a serverless worker costs 40 to 70% more than a pod of the
 * same GPU. The README repeats this; update both together.
 */
export const FALLBACK_PRICES_SOURCE = "RunPod's serverless flex prices (docs.runpod.io/serverless/pricing, per second x 3600), read December 2026";

/** A GPU type of the serverless catalog with its pool (what a serverless endpoint is created with). */
export type CatalogGpu = GpuType & { pool: string | null };

function fallback(id: string, providerGpuId: string, displayName: string, memoryGb: number, pricePerHourUsd: string, pool: string): CatalogGpu {
  return { id, providerGpuId, displayName, memoryGb, pricePerHourUsd, provider: 'RUNPOD', pool };
}

/** Used when the catalog cannot be read (see FALLBACK_PRICES_SOURCE); ids as mapCatalog gives them, cheapest first. */
export const FALLBACK_GPU_TYPES: readonly CatalogGpu[] = Object.freeze([
  fallback('RTXA4000', 'NVIDIA RTX A4000', 'RTX A4000', 16, '0.576', 'AMPERE_16'),
  fallback('L4', 'NVIDIA L4', 'L4', 24, '0.684', 'AMPERE_24'),
  fallback('RTXA5000', 'NVIDIA RTX A5000', 'RTX A5000', 24, '0.684', 'AMPERE_24'),
  fallback('RTX3090', 'NVIDIA GeForce RTX 3090', 'RTX 3090', 24, '0.684', 'AMPERE_24'),
  fallback('RTX4090', 'NVIDIA GeForce RTX 4090', 'RTX 4090', 24, '1.116', 'ADA_24'),
  fallback('A40', 'NVIDIA A40', 'A40', 48, '1.224', 'AMPERE_48'),
  fallback('RTXA6000', 'NVIDIA RTX A6000', 'RTX A6000', 48, '1.224', 'AMPERE_48'),
  fallback('L40S', 'NVIDIA L40S', 'L40S', 48, '1.908', 'ADA_48_PRO'),
  fallback('A100', 'NVIDIA A100 80GB PCIe', 'A100 PCIe', 80, '2.736', 'AMPERE_80'),
  fallback('A100-SXM4-80GB', 'NVIDIA A100-SXM4-80GB', 'A100 SXM', 80, '2.736', 'AMPERE_80'),
  fallback('H100', 'NVIDIA H100 80GB HBM3', 'H100 SXM', 80, '4.176', 'ADA_80_PRO'),
  fallback('H200', 'NVIDIA H200', 'H200 SXM', 141, '5.58', 'HOPPER_141'),
]);

/**
 * A JSON number of dollars as a decimal string with 2 to 6 decimals ("1.1" -> "1.10",
 * 0.000123 -> "0.000123"), without float arithmetic: `toFixed(6)` rounds the number's exact
 * value in decimal. Null for anything that is not a plausible price.
 */
export function usdFromNumber(value: unknown): string | null {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1_000_000) return null;
  const [whole, fraction = ''] = value.toFixed(6).split('.');
  return `${whole}.${fraction.replace(/0+$/, '').padEnd(2, '0')}`;
}

/** "1.64" -> 1640000 (integer micro-dollars); null when the string is not a plain decimal. */
export function usdToMicros(usd: string): number | null {
  const match = /^(\d{1,9})(?:\.(\d{1,6}))?$/.exec(usd);
  if (!match) return null;
  return Number(match[1]) * 1_000_000 + Number((match[2] ?? '').padEnd(6, '0'));
}

const VENDOR_WORDS = new Set(['NVIDIA', 'AMD', 'GEFORCE', 'TESLA', 'INSTINCT', 'GENERATION', 'EDITION']);
const MODEL = /\bRTX\s+PRO\s+\d{4}\b|\bRTX\s+A?\d{4}\b|\b[A-Z]{1,2}\d{1,4}[A-Z]?\b/i;

/**
 * Our short id from RunPod's: the model designation without vendor words or spaces.
 * "NVIDIA GeForce RTX 4090" -> RTX4090, "NVIDIA A100 80GB PCIe" -> A100, "NVIDIA H100 80GB HBM3"
 * -> H100, "NVIDIA RTX A6000" -> RTXA6000, "AMD Instinct MI300X OAM" -> MI300X, "NVIDIA L40S" -> L40S.
 */
export function shortGpuId(runpodId: string): string {
  const match = MODEL.exec(runpodId);
  if (match) return match[0].replace(/\s+/g, '').toUpperCase();
  return (
    runpodId
      .toUpperCase()
      .replace(/[^A-Z0-9]+/g, '')
      .slice(0, 32) || 'GPU'
  );
}

/** What tells a variant apart: "NVIDIA A100-SXM4-80GB" -> "SXM4-80GB", "NVIDIA H100 NVL" -> "NVL". */
function variantSuffix(runpodId: string): string {
  const match = MODEL.exec(runpodId);
  const rest = match ? runpodId.slice(0, match.index) + ' ' + runpodId.slice(match.index + match[0].length) : runpodId;
  return rest
    .toUpperCase()
    .split(/[^A-Z0-9]+/)
    .filter((word) => word !== '' && !VENDOR_WORDS.has(word))
    .join('-');
}

export interface MappedCatalog {
  gpuTypes: CatalogGpu[];
  /** Entries left out, with why (no serverless price, malformed). */
  skipped: string[];
}

/**
 * The catalog answer as our GPU types, cheapest first. Ids are unique: when several RunPod
 * GPUs share a model (A100 PCIe and A100 SXM), the cheapest one gets the plain id ("A100") and
 * the others get a variant suffix ("A100-SXM4-80GB"). Throws when the answer is not a catalog.
 */
export function mapCatalog(body: unknown): MappedCatalog {
  const gpus = body && typeof body === 'object' ? (body as { gpus?: unknown }).gpus : undefined;
  if (!Array.isArray(gpus)) throw new Error('the catalog answer has no "gpus" list');
  const skipped: string[] = [];
  const usable: { gpu: RunPodCatalogGpu; price: string; micros: number }[] = [];
  for (const entry of gpus as unknown[]) {
    const gpu = entry as Partial<RunPodCatalogGpu> | null;
    if (!gpu || typeof gpu !== 'object' || typeof gpu.id !== 'string' || gpu.id.trim() === '') {
      skipped.push('an entry without an id');
      continue;
    }
    const price = usdFromNumber(gpu.price?.serverless);
    const micros = price === null ? null : usdToMicros(price);
    if (price === null || micros === null) {
      skipped.push(`${gpu.id} (no serverless price)`);
      continue;
    }
    usable.push({ gpu: gpu as RunPodCatalogGpu, price, micros });
  }
  usable.sort((a, b) => a.micros - b.micros || (a.gpu.id < b.gpu.id ? -1 : a.gpu.id > b.gpu.id ? 1 : 0));

  const taken = new Set<string>();
  const gpuTypes: CatalogGpu[] = [];
  for (const { gpu, price } of usable) {
    const base = shortGpuId(gpu.id);
    let id = base;
    if (taken.has(id)) {
      const suffix = variantSuffix(gpu.id);
      id = suffix ? `${base}-${suffix}` : base;
      for (let n = 2; taken.has(id); n += 1) id = `${base}${suffix ? `-${suffix}` : ''}-${n}`;
    }
    taken.add(id);
    gpuTypes.push({
      id,
      providerGpuId: gpu.id,
      displayName: typeof gpu.name === 'string' && gpu.name.trim() !== '' ? gpu.name : gpu.id,
      memoryGb: typeof gpu.memory === 'number' && Number.isFinite(gpu.memory) && gpu.memory >= 0 ? Math.round(gpu.memory) : 0,
      pricePerHourUsd: price,
      provider: 'RUNPOD',
      pool: typeof gpu.pool === 'string' ? gpu.pool : null,
    });
  }
  return { gpuTypes, skipped };
}
