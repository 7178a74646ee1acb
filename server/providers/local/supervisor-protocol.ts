/**
 * The messages between the server and a training program's supervisor (supervisor.ts), one JSON
 * object per line over the socket on the supervisor's fd 3. The first message the server sends is
 * `start`; whatever the program prints goes to the server on the supervisor's stdout and stderr,
 * which the program shares.
 */
export interface StartProgram {
  type: 'start';
  command: string;
  args: string[];
  cwd: string;
  /** The program's whole environment. */
  env: Record<string, string>;
  /** Run as this user (the supervisor runs as root then); absent: as the supervisor's own user. */
  uid?: number;
  gid?: number;
  /** When the server is gone: between SIGTERM and SIGKILL to the program's process group. */
  killGraceMs: number;
}

export interface SignalProgram {
  type: 'signal';
  signal: 'SIGTERM' | 'SIGKILL';
}

export type ToSupervisor = StartProgram | SignalProgram;

export type FromSupervisor =
  /** The program runs; `pid` is also its process group and session id; `startTime` as in /proc/<pid>/stat. */
  | { type: 'started'; pid: number; startTime: number }
  /** The program ended (and the rest of its process group was SIGKILLed). */
  | { type: 'exit'; code: number | null; signal: NodeJS.Signals | null }
  /** The program could not be started. */
  | { type: 'error'; message: string };
