import { chmod, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from '../logger';
import type { OperatorContext, RegisteredAction } from './action';
import { toWire, type WireError } from './wire-error';

/** A round's CSV travels in the request; anything bigger is not an OHLCV file. */
const MAX_REQUEST_BYTES = 512 * 1024 * 1024;

export interface OperatorSocket {
  path: string;
  /** Stop taking commands, let the running ones finish, remove the socket file. */
  close(): Promise<void>;
}

/**
 * The running embedded server's door for `mp-server` operator commands: HTTP on a Unix socket
 * of mode 0600 in MP_DATA_DIR, so only the OS user who owns the server can use it. A command
 * runs here, in-process, on the server's own database (PGlite has one session, which this
 * process already serializes); nothing is logged of what it carries (keys, secrets).
 *
 * The caller holds the data directory's lock, so a socket file already there is a dead server's.
 */
export async function startOperatorSocket(path: string, context: OperatorContext, actions: ReadonlyMap<string, RegisteredAction>): Promise<OperatorSocket> {
  const log = context.log.child({ component: 'operator-socket' });
  const server = createServer((req, res) => {
    answer(req, res, context, actions, log).catch((error: unknown) => {
      log.error({ err: error }, 'operator command failed to answer');
      res.destroy();
    });
  });
  await rm(path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Created 0600 from the start (the umask applies to bind), not chmod-ed after a window.
    const umask = process.umask(0o177);
    try {
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      process.umask(umask);
    }
  });
  await chmod(path, 0o600);
  return {
    path,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await rm(path, { force: true });
    },
  };
}

async function answer(
  req: IncomingMessage,
  res: ServerResponse,
  context: OperatorContext,
  actions: ReadonlyMap<string, RegisteredAction>,
  log: Logger,
): Promise<void> {
  const match = /^\/actions\/([a-z.-]+)$/.exec(req.url ?? '');
  const action = match ? actions.get(match[1]) : undefined;
  if (req.method !== 'POST' || !action) {
    return send(res, 404, {
      error: { kind: 'internal', message: `the running server has no operator command ${req.url}: is it an older mp-server? Restart it with this version` },
    });
  }
  const body = await readBody(req);
  if (body === null) return send(res, 413, { error: { kind: 'internal', message: `the command's input is over ${MAX_REQUEST_BYTES / 1024 / 1024} MiB` } });
  let args: unknown;
  try {
    args = JSON.parse(body);
  } catch {
    return send(res, 400, { error: { kind: 'internal', message: 'the operator command sent a body that is not JSON' } });
  }
  const started = Date.now();
  try {
    const result = await action.invoke(context, args);
    log.info({ command: action.name, ms: Date.now() - started }, 'operator command');
    send(res, 200, { result });
  } catch (error) {
    const wire = toWire(error);
    if (wire.kind === 'internal') log.error({ err: error, command: action.name }, 'operator command failed');
    else log.info({ command: action.name, ms: Date.now() - started, outcome: wire.kind }, 'operator command refused');
    send(res, wire.kind === 'internal' ? 500 : 422, { error: wire });
  }
}

function send(res: ServerResponse, status: number, body: { result: unknown } | { error: WireError }): void {
  res.writeHead(status, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REQUEST_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
