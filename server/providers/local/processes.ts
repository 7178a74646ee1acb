/**
 * What Linux's /proc tells about processes, for finding (and only ever killing) the processes of
 * one local training run. A pid can be reused once its process is gone, so a process is named by
 * its pid and its start time (clock ticks since boot, field 22 of /proc/<pid>/stat) together.
 * Without /proc (not Linux) every lookup answers "unknown" and nothing is killed.
 */
import { readFileSync, readdirSync } from 'node:fs';

export interface ProcessId {
  pid: number;
  startTime: number;
}

export interface ProcessStat extends ProcessId {
  /** R, S, D, Z (zombie), T, ... */
  state: string;
  ppid: number;
  pgid: number;
  sid: number;
}

export function processStat(pid: number): ProcessStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const startTime = Number(fields[19]);
  if (!Number.isSafeInteger(startTime)) return null;
  return { pid, state: fields[0] ?? '?', ppid: Number(fields[1]), pgid: Number(fields[2]), sid: Number(fields[3]), startTime };
}

/** This pid and its start time, or null when no such process exists (or it cannot be seen). */
export function processId(pid: number): ProcessId | null {
  const stat = processStat(pid);
  return stat ? { pid, startTime: stat.startTime } : null;
}

/**
 * Is the process `id` names still there (the same one, not a later process that got its pid)? A
 * zombie counts. An unknown start time (-1: recorded without /proc) falls back to the pid alone.
 */
export function isSameProcess(id: ProcessId): boolean {
  if (id.startTime < 0) {
    try {
      process.kill(id.pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  return processStat(id.pid)?.startTime === id.startTime;
}

/** The real uid of a process, or null. */
export function processUid(pid: number): number | null {
  try {
    const line = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return line ? Number(line[1]) : null;
  } catch {
    return null;
  }
}

/** Does the process's environment (as it was when it started) hold exactly `entry`, such as "MP_RUN_ID=run_1"? */
export function environHas(pid: number, entry: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(entry);
  } catch {
    return false;
  }
}

/** Every process there is now, with its stat. */
export function allProcesses(): ProcessStat[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const stats: ProcessStat[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const stat = processStat(Number(name));
    if (stat) stats.push(stat);
  }
  return stats;
}
