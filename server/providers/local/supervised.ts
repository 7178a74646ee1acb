/**
 * The server's side of a training program's supervisor (supervisor.ts): starts the supervisor
 * with a socket on its fd 3, hands it the program to start, passes signals on and reports the
 * program's start and end. Should the supervisor itself die without reporting an end, the
 * program's process group is SIGKILLed from here and the end says so.
 */
import { spawn } from 'node:child_process';
import { Socket } from 'node:net';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import type { ProcessId } from './processes';
import type { FromSupervisor, StartProgram } from './supervisor-protocol';

export type ProgramStart = ProcessId | { error: string };
export type ProgramEnd = { code: number | null; signal: NodeJS.Signals | null } | { lost: string };

export interface SupervisedProgram {
  /** The program's output (shared with the supervisor, which writes nothing). */
  stdout: Readable;
  stderr: Readable;
  /** The program's pid (also its process group and session) and start time, or why it could not start. */
  started: Promise<ProgramStart>;
  /** How the program ended; resolves after `started`. */
  ended: Promise<ProgramEnd>;
  signal(signal: 'SIGTERM' | 'SIGKILL'): void;
}

/** How to run supervisor.ts: compiled next to this file (dist/), or through tsx from the sources. */
function supervisorArgs(): string[] {
  if (!__filename.endsWith('.ts')) return [path.join(__dirname, 'supervisor.js')];
  return ['--require', require.resolve('tsx/cjs'), path.join(__dirname, 'supervisor.ts')];
}

export function supervise(runId: string, program: Omit<StartProgram, 'type'>): SupervisedProgram {
  // The run id names the supervisor in `ps`; its environment holds nothing of the server's.
  const child = spawn(process.execPath, [...supervisorArgs(), runId], {
    cwd: '/',
    env: { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', LANG: process.env.LANG || 'C.UTF-8' },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    windowsHide: true,
  });
  const channel = child.stdio[3];
  if (!(channel instanceof Socket)) throw new Error('the supervisor has no control socket');

  let startedWith: ProcessId | null = null;
  let endReported = false;
  let reportStart!: (start: ProgramStart) => void;
  let reportEnd!: (end: ProgramEnd) => void;
  const started = new Promise<ProgramStart>((resolve) => (reportStart = resolve));
  const ended = new Promise<ProgramEnd>((resolve) => (reportEnd = resolve));
  const channelClosed = new Promise<void>((resolve) => channel.once('close', () => resolve()));

  let buffered = '';
  channel.setEncoding('utf8');
  channel.on('data', (chunk: string) => {
    buffered += chunk;
    for (let newline = buffered.indexOf('\n'); newline !== -1; newline = buffered.indexOf('\n')) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      let message: FromSupervisor;
      try {
        message = JSON.parse(line) as FromSupervisor;
      } catch {
        continue;
      }
      if (message.type === 'started') {
        startedWith = { pid: message.pid, startTime: message.startTime };
        reportStart(startedWith);
      } else if (message.type === 'exit') {
        endReported = true;
        reportEnd({ code: message.code, signal: message.signal });
      } else {
        reportStart({ error: message.message });
      }
    }
  });
  channel.on('error', () => undefined); // the supervisor's exit tells what happened

  // The exit may be seen before the last messages are read: the socket's close comes after them.
  child.once('exit', (code, signal) => {
    void channelClosed.then(() => {
      const how = signal ? `killed by signal ${signal}` : `exited with code ${code}`;
      reportStart({ error: `its supervisor ${how} before starting it` });
      if (endReported) return;
      if (startedWith !== null) {
        try {
          process.kill(-startedWith.pid, 'SIGKILL');
        } catch {
          /* the group is gone already */
        }
      }
      reportEnd({ lost: `the supervisor of the training program ${how}; the program was stopped` });
    });
  });
  child.once('error', (error) => {
    if (child.pid !== undefined) return;
    reportStart({ error: error.message });
    reportEnd({ lost: error.message });
  });

  channel.write(`${JSON.stringify({ type: 'start', ...program } satisfies StartProgram)}\n`);
  return {
    stdout: child.stdout!,
    stderr: child.stderr!,
    started,
    ended,
    signal(signal) {
      if (channel.writable) channel.write(`${JSON.stringify({ type: 'signal', signal })}\n`);
    },
  };
}
