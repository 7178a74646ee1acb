import path from 'node:path';
import type { ServerConfig } from '../config';

/** Linux's sun_path holds 108 bytes with the terminating NUL; Node silently cuts a longer path. */
const MAX_SOCKET_PATH_BYTES = 107;

export class SocketPathTooLongError extends Error {}

/** Where a running embedded server answers operator commands: beside its pid file in MP_DATA_DIR. */
export function operatorSocketPath(config: Pick<ServerConfig, 'dataDir'>): string {
  const socket = path.join(config.dataDir, 'mp-server.sock');
  const bytes = Buffer.byteLength(socket);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new SocketPathTooLongError(
      `the operator socket path ${socket} is ${bytes} bytes, more than a Unix socket allows (${MAX_SOCKET_PATH_BYTES}): use a shorter MP_DATA_DIR`,
    );
  }
  return socket;
}
