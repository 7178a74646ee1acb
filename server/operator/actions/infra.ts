import { z } from 'zod';
import type { InfraClients } from '../../modules/deployments/infra-clients';
import type { InfraClientEntity } from '../../modules/deployments/infra-client.entity';
import { defineAction, type OperatorContext } from '../action';

/** What lists show of a client: never its hash. */
export interface InfraClientRow {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

function describe(client: InfraClientEntity): InfraClientRow {
  return {
    id: client.id,
    name: client.name,
    createdAt: client.createdAt.toISOString(),
    lastUsedAt: client.lastUsedAt?.toISOString() ?? null,
    revokedAt: client.revokedAt?.toISOString() ?? null,
  };
}

async function withInfraClients<T>({ config, database, log }: OperatorContext, work: (clients: InfraClients) => Promise<T>): Promise<T> {
  const { InfraClients } = require('../../modules/deployments/infra-clients') as typeof import('../../modules/deployments/infra-clients');
  // Listening, so that a revocation returns once every running server has heard it.
  const clients = new InfraClients(database.dataSource, database.notifications, log, 0, config.authFailures);
  try {
    await clients.start();
    return await work(clients);
  } finally {
    await clients.stop();
  }
}

export const createInfraClient = defineAction({
  name: 'infra.create-client',
  args: z.object({ name: z.string() }),
  run: (context, args) =>
    withInfraClients(context, async (clients) => {
      const { client, secret } = await clients.create(args.name);
      return { clientId: client.id, name: client.name, clientSecret: secret };
    }),
});

export const listInfraClients = defineAction({
  name: 'infra.list-clients',
  args: z.object({}),
  run: (context) => withInfraClients(context, async (clients) => (await clients.list()).map(describe)),
});

export const revokeInfraClient = defineAction({
  name: 'infra.revoke-client',
  args: z.object({ id: z.string() }),
  run: (context, args) => withInfraClients(context, async (clients) => describe(await clients.revoke(args.id))),
});
