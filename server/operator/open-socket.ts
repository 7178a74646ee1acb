import type { ServerConfig } from '../config';
import type { OperatorContext, RegisteredAction } from './action';
import { operatorSocketPath } from './socket-path';
import { startOperatorSocket, type OperatorSocket } from './socket-server';

/** The running embedded server's operator socket; without one (say, a path too long) the server still serves, and says what is lost. */
export async function openOperatorSocket(
  config: ServerConfig,
  context: OperatorContext,
  actions: ReadonlyMap<string, RegisteredAction>,
): Promise<OperatorSocket | null> {
  try {
    const socket = await startOperatorSocket(operatorSocketPath(config), context, actions);
    context.log.debug({ socket: socket.path }, 'operator commands are taken on the socket');
    return socket;
  } catch (error) {
    context.log.warn(
      { err: error },
      `operator commands (mp-server vendor create, rounds ...) cannot reach this server and must wait until it stops: ${(error as Error).message}`,
    );
    return null;
  }
}
