/**
 * One run of the project's program as a child process: its stdout and stderr forwarded as they
 * come. It gets a process group of its own, so a Ctrl-C in the terminal reaches only mp dev,
 * which then stops it once (a second signal would make the endpoint skip its clean shutdown):
 * `stop()` sends SIGTERM to the group and, after `graceMs`, SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Io } from '../../io';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class EndpointProcess {
  readonly exited: Promise<Exit>;
  private readonly child: ChildProcess;

  constructor(args: string[], cwd: string, env: NodeJS.ProcessEnv, io: Io) {
    this.child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => io.stdout.write(chunk));
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => io.stderr.write(chunk));
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => {
        io.stderr.write(`mp dev: cannot start ${process.execPath}: ${error.message}\n`);
        resolve({ code: null, signal: null });
      });
      this.child.once('close', (code, signal) => resolve({ code, signal }));
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(graceMs: number): Promise<Exit> {
    if (!this.running) return this.exited;
    this.signalGroup('SIGTERM');
    const timer = setTimeout(() => this.signalGroup('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  private signalGroup(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      this.child.kill(signal); // the group is gone already; the child itself may not be
    }
  }
}
