/** The port `mp dev` serves on: the one asked for if it is free, or any free one for 0. */
import * as net from 'node:net';
import { CliError, ExitCode } from '../../errors';

function listenOnce(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => {
      const { port: bound } = server.address() as net.AddressInfo;
      server.close(() => resolve(bound));
    });
  });
}

export async function choosePort(port: number, host: string): Promise<number> {
  try {
    return await listenOnce(port, host);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new CliError(`port ${port} on ${host} is already in use`, ExitCode.INVALID, {
        hint: 'Stop what listens there, or pass --port N (--port 0 picks a free one).',
      });
    }
    if (code === 'EACCES') throw new CliError(`not allowed to listen on port ${port}`, ExitCode.INVALID, { hint: 'Pass --port with a number above 1023.' });
    throw error;
  }
}
