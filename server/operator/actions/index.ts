import { registered, type RegisteredAction } from '../action';
import { createAdminKey, createVendor, createVendorKey } from './identity';
import { changeRoundStatus, createRound, listRounds, resolveRound } from './rounds';
import { createInfraClient, listInfraClients, revokeInfraClient } from './infra';
import { migrate } from './migrate';

/** Every operator command's action: what a running server runs for `mp-server <command>` over its operator socket. */
const actions: RegisteredAction[] = [
  registered(createVendor),
  registered(createVendorKey),
  registered(createAdminKey),
  registered(createRound),
  registered(resolveRound),
  registered(changeRoundStatus),
  registered(listRounds),
  registered(createInfraClient),
  registered(listInfraClients),
  registered(revokeInfraClient),
  registered(migrate),
];

/** Every operator command's action: what a running server runs for `mp-server <command>` over its operator socket. */
export const operatorActions: ReadonlyMap<string, RegisteredAction> = new Map(actions.map((action) => [action.name, action]));
