import { Client } from 'pg';
import type { PglitePool } from './pglite-pool';

/**
 * Postgres LISTEN/NOTIFY, the one way our processes tell each other things
 * (key revoked, vendor suspended, new log lines...). On PostgreSQL a dedicated
 * connection listens and reconnects on failure; on the embedded database PGlite's
 * own listener is used, taken through the pool so it never lands inside another
 * holder's transaction.
 */
export type NotificationHandler = (payload: string) => void;

export interface Notifications {
  /** Subscribe; resolves once the LISTEN is in place. Returns the unsubscribe function. */
  listen(channel: string, handler: NotificationHandler): Promise<() => Promise<void>>;
  /** Send through `query` (pass a transaction's manager to send on commit). */
  notify(query: Queryable, channel: string, payload: string): Promise<void>;
  /** Called after the listening connection came back: anything sent meanwhile was missed. */
  onReconnect(handler: () => void): void;
  close(): Promise<void>;
}

export interface Queryable {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

/** Postgres refuses NOTIFY payloads of 8000 bytes or more. */
export const MAX_NOTIFY_PAYLOAD_BYTES = 7999;

type Source = { kind: 'embedded'; pool: PglitePool } | { kind: 'postgres'; url: string };

export function createNotifications(source: Source): Notifications {
  const handlers = new Map<string, Set<NotificationHandler>>();
  const dispatch = (channel: string, payload: string) => {
    for (const handler of handlers.get(channel) ?? []) {
      try {
        handler(payload);
      } catch {
        // A listener's bug must not stop delivery to the others.
      }
    }
  };
  const reconnectHandlers: (() => void)[] = [];
  const reconnected = () => {
    for (const handler of reconnectHandlers) handler();
  };
  const engine = source.kind === 'embedded' ? embeddedListener(source.pool, dispatch) : postgresListener(source.url, dispatch, reconnected);

  return {
    async listen(channel, handler) {
      assertChannel(channel);
      let set = handlers.get(channel);
      if (!set) {
        set = new Set();
        handlers.set(channel, set);
        await engine.listen(channel);
      }
      set.add(handler);
      return async () => {
        const current = handlers.get(channel);
        if (!current) return;
        current.delete(handler);
        if (current.size === 0) {
          handlers.delete(channel);
          await engine.unlisten(channel);
        }
      };
    },
    async notify(query, channel, payload) {
      assertNotification(channel, payload);
      await query.query('SELECT pg_notify($1, $2)', [channel, payload]);
    },
    onReconnect(handler) {
      reconnectHandlers.push(handler);
    },
    async close() {
      handlers.clear();
      await engine.close();
    },
  };
}

interface ListenerEngine {
  listen(channel: string): Promise<void>;
  unlisten(channel: string): Promise<void>;
  close(): Promise<void>;
}

function embeddedListener(pool: PglitePool, dispatch: (channel: string, payload: string) => void): ListenerEngine {
  const unsubscribers = new Map<string, () => Promise<void>>();
  return {
    async listen(channel) {
      const unsubscribe = await pool.withSession((db) => db.listen(channel, (payload) => dispatch(channel, payload)));
      unsubscribers.set(channel, unsubscribe);
    },
    async unlisten(channel) {
      const unsubscribe = unsubscribers.get(channel);
      unsubscribers.delete(channel);
      if (unsubscribe) await pool.withSession(unsubscribe);
    },
    async close() {
      unsubscribers.clear();
    },
  };
}

function postgresListener(url: string, dispatch: (channel: string, payload: string) => void, reconnected: () => void): ListenerEngine {
  const channels = new Set<string>();
  let client: Client | undefined;
  let connecting: Promise<Client> | undefined;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let everConnected = false;

  const connect = (): Promise<Client> => {
    if (client) return Promise.resolve(client);
    if (connecting) return connecting;
    connecting = (async () => {
      const fresh = new Client({ connectionString: url, application_name: 'trader-marketplace-listener' });
      fresh.on('notification', (message) => dispatch(message.channel, message.payload ?? ''));
      fresh.on('error', () => reconnectSoon(fresh));
      fresh.on('end', () => reconnectSoon(fresh));
      await fresh.connect();
      for (const channel of channels) await fresh.query(`LISTEN ${quoteChannel(channel)}`);
      const again = everConnected;
      everConnected = true;
      client = fresh;
      if (again) reconnected();
      return fresh;
    })().finally(() => {
      connecting = undefined;
    });
    return connecting;
  };

  const reconnectSoon = (broken: Client) => {
    if (client === broken) client = undefined;
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      connect().catch(() => reconnectSoon(broken));
    }, 500);
    retryTimer.unref();
  };

  return {
    async listen(channel) {
      channels.add(channel);
      const connection = await connect();
      await connection.query(`LISTEN ${quoteChannel(channel)}`);
    },
    async unlisten(channel) {
      channels.delete(channel);
      if (client) await client.query(`UNLISTEN ${quoteChannel(channel)}`).catch(() => undefined);
    },
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      const current = client ?? (await connecting?.catch(() => undefined));
      client = undefined;
      if (current) {
        current.removeAllListeners('end');
        current.removeAllListeners('error');
        current.on('error', () => undefined);
        await current.end().catch(() => undefined);
      }
    },
  };
}

/** For a pg_notify(channel, payload) written into a larger statement: throws what notify() would. */
export function assertNotification(channel: string, payload: string): void {
  assertChannel(channel);
  if (Buffer.byteLength(payload) > MAX_NOTIFY_PAYLOAD_BYTES) {
    throw new Error(`notification payload on ${channel} is ${Buffer.byteLength(payload)} bytes; Postgres allows ${MAX_NOTIFY_PAYLOAD_BYTES}`);
  }
}

function assertChannel(channel: string): void {
  if (!/^[a-z_][a-z0-9_:.-]{0,62}$/.test(channel)) throw new Error(`invalid notification channel name: ${channel}`);
}

function quoteChannel(channel: string): string {
  return `"${channel.replace(/"/g, '""')}"`;
}
