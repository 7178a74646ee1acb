import DataLoader from 'dataloader';
import type { DataSource } from 'typeorm';
import type { ModelLiveStatus } from '../../../generated/schema-types';
import type { StoredDeploymentEvent } from '../deployments/deployment.entity';
import type { CatalogModelEntity } from '../catalog/catalog-model.entity';

export interface LiveState {
  status: ModelLiveStatus;
  /** The start of the deployment's current unbroken run of HEALTHY; null when OFFLINE. */
  since: Date | null;
}

/** A listing pushed by catalogUpdated, with its live state read when it was pushed. */
export type ListingWithLiveState = CatalogModelEntity & { liveState?: LiveState };

const OFFLINE: LiveState = { status: 'OFFLINE', since: null };

/** LIVE while the deployment is HEALTHY (and not ending), since the first change of the current HEALTHY run in its history. */
export function liveStateOf(deployment: { status: string; health: string; history: StoredDeploymentEvent[] } | undefined): LiveState {
  if (!deployment || deployment.health !== 'HEALTHY' || !['STARTING', 'RUNNING'].includes(deployment.status)) return OFFLINE;
  let since: string | null = null;
  for (let i = deployment.history.length - 1; i >= 0 && deployment.history[i].health === 'HEALTHY'; i -= 1) since = deployment.history[i].at;
  return { status: 'LIVE', since: since ? new Date(since) : null };
}

/** Per request: the live state of each deployment a catalog page names, in one query. */
export function liveStateLoader(dataSource: DataSource): DataLoader<string, LiveState> {
  return new DataLoader(async (ids: readonly string[]) => {
    const rows: { id: string; status: string; health: string; history: StoredDeploymentEvent[] }[] = await dataSource.query(
      `SELECT id, status, health, history FROM deployments WHERE id = ANY($1::text[])`,
      [ids],
    );
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => liveStateOf(byId.get(id)));
  });
}

/** A listing's live state: the one it was pushed with, else read through the request's loader. */
export async function liveStateOfListing(model: ListingWithLiveState, loader: DataLoader<string, LiveState>): Promise<LiveState> {
  if (model.liveState) return model.liveState;
  return model.deploymentId ? loader.load(model.deploymentId) : OFFLINE;
}
