import { lstat } from 'node:fs/promises';
import { request } from 'node:http';
import { fromWire, RunningServerError, type WireError } from './wire-error';

export type Delivery = { reached: false } | { reached: true; result: unknown };

/**
 * Hand an operator command to the server running on this data directory. `reached: false`
 * when none answers there: no socket, or the socket of a server that died (its file stays
 * behind after a crash, and nothing listens on it).
 */
export async function sendToRunningServer(socketPath: string, action: string, args: unknown): Promise<Delivery> {
  const stats = await lstat(socketPath).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  if (!stats) return { reached: false };
  // Only our own server's socket gets the command (and so may answer with a key we would trust).
  if (!stats.isSocket() || (process.getuid && stats.uid !== process.getuid())) {
    throw new RunningServerError(`${socketPath} is not an operator socket of this user's mp-server: remove it if no server of yours is running`);
  }
  const body = JSON.stringify(args);
  return new Promise<Delivery>((resolve, reject) => {
    const req = request(
      {
        socketPath,
        method: 'POST',
        path: `/actions/${action}`,
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          let answer: { result?: unknown; error?: WireError };
          try {
            answer = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof answer;
          } catch {
            return reject(new RunningServerError(`the running server answered ${res.statusCode} with no readable result: see its log`));
          }
          if (answer.error) return reject(fromWire(answer.error));
          resolve({ reached: true, result: answer.result });
        });
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED' || error.code === 'ENOENT') return resolve({ reached: false });
      reject(
        new RunningServerError(
          `the running server went away before it answered (${error.code ?? error.message}): the command may or may not have taken effect, check before repeating it`,
        ),
      );
    });
    req.end(body);
  });
}
