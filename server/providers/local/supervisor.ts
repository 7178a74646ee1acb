/**
 * The supervisor of one local training program: a process of its own between the server and the
 * program, started as `node supervisor.js <runId>` with a socket on fd 3 (supervisor-protocol.ts).
 * It starts the program in a process group and session of its own, as the user the server names,
 * passes the server's signals on to that group and reports how the program ended (after which it
 * SIGKILLs whatever is left in the group). When the socket closes, which happens whenever the
 * server process ends, SIGKILL included, it stops the group (SIGTERM, then SIGKILL after the grace)
 * and exits: a program never outlives its server. SIGTERM, SIGINT or SIGHUP to the supervisor
 * itself do the same. It never writes to its stdout or stderr: the program shares them, and they
 * are the run's log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Socket } from 'node:net';
import { processStat } from './processes';
import type { FromSupervisor, StartProgram, ToSupervisor } from './supervisor-protocol';

const channel = new Socket({ fd: 3, readable: true, writable: true });
let program: ChildProcess | undefined;
let exited = false;
let stopping = false;
let graceMs = 5000;

function send(message: FromSupervisor): void {
  if (channel.writable) channel.write(`${JSON.stringify(message)}\n`);
}

function killGroup(signal: NodeJS.Signals): void {
  if (program?.pid === undefined) return;
  try {
    process.kill(-program.pid, signal);
  } catch {
    /* ESRCH: nothing left in the group */
  }
}

function fail(error: unknown): void {
  send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  channel.end();
}

function start(spec: StartProgram): void {
  graceMs = spec.killGraceMs;
  try {
    program = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      uid: spec.uid,
      gid: spec.gid,
      detached: true,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  } catch (error) {
    fail(error);
    return;
  }
  const child = program;
  if (child.pid === undefined) {
    child.once('error', fail);
    return;
  }
  const pid = child.pid;
  // Read now, before the exit can be reaped: until then /proc/<pid> stays, even for a zombie.
  send({ type: 'started', pid, startTime: processStat(pid)?.startTime ?? -1 });
  child.once('exit', (code, signal) => {
    exited = true;
    killGroup('SIGKILL');
    send({ type: 'exit', code, signal });
    channel.end();
    if (stopping) process.exit(0);
  });
}

/** The server is gone (or we were told to go): the program's group goes first. */
function stop(): void {
  if (stopping) return;
  stopping = true;
  if (program?.pid === undefined || exited) process.exit(0);
  killGroup('SIGTERM');
  setTimeout(() => {
    killGroup('SIGKILL');
    process.exit(0);
  }, graceMs);
}

let buffered = '';
channel.setEncoding('utf8');
channel.on('data', (chunk: string) => {
  buffered += chunk;
  for (let newline = buffered.indexOf('\n'); newline !== -1; newline = buffered.indexOf('\n')) {
    const line = buffered.slice(0, newline);
    buffered = buffered.slice(newline + 1);
    let message: ToSupervisor;
    try {
      message = JSON.parse(line) as ToSupervisor;
    } catch {
      continue;
    }
    if (message.type === 'start' && program === undefined && !stopping) start(message);
    else if (message.type === 'signal' && !exited) killGroup(message.signal);
  }
});
channel.on('end', stop);
channel.on('close', stop);
channel.on('error', stop);
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, stop);
process.on('uncaughtException', () => {
  killGroup('SIGKILL');
  process.exit(1);
});
