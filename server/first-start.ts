import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ServerConfig } from './config';
import { createVendorKey } from './operator/actions/identity';
import type { OperatorContext } from './operator/action';
import { VendorEntity } from './modules/identity/vendor.entity';

/** Seeded by modules/catalog/demo-catalog.ts. */
const DEMO_VENDOR_HANDLE = 'demo';

/** How a newcomer gets going on the first start: a key of the demo vendor, or the one command that makes one. */
export type FirstStartAccess = { kind: 'key'; vendorName: string; apiKey: string } | { kind: 'command'; command: string };

/** Whether the embedded database is about to be created (checked before it is opened). */
export function embeddedDatabaseIsNew(config: ServerConfig): boolean {
  return config.database.kind === 'embedded' && !existsSync(path.join(config.database.dataDir, 'PG_VERSION'));
}

/**
 * A key is made only for a terminal: printed to the operator's own screen it is the point,
 * written into a pipe or a log collector it would be a leaked secret. Elsewhere the banner
 * names the command, which also works while the server runs.
 */
export async function firstStartAccess(context: OperatorContext, terminal: boolean): Promise<FirstStartAccess> {
  const demo = await context.database.dataSource.getRepository(VendorEntity).findOneBy({ handle: DEMO_VENDOR_HANDLE });
  if (!demo) return { kind: 'command', command: 'mp-server vendor create --name "My Quant Lab" --email me@example.com' };
  if (!terminal) return { kind: 'command', command: `mp-server vendor create-key --handle ${DEMO_VENDOR_HANDLE}` };
  const created = await createVendorKey.run(context, { handle: DEMO_VENDOR_HANDLE, name: 'first start (printed once)' });
  return { kind: 'key', vendorName: created.displayName, apiKey: created.apiKey };
}
