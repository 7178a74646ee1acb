/**
 * Finds and ends whatever processes a local run left behind, and nothing else. A process is the
 * run's when it runs as the run's uid, started no earlier than the training program, and either
 * belongs to the program's process group or session while the program itself (the group's leader,
 * a zombie will do) is still the same process, or carries the run's MP_RUN_ID in its environment
 * (which also finds a helper that left the session with setsid). The leader check matters: once
 * the whole group is gone, its pid may belong to somebody else's new group.
 */
import { allProcesses, environHas, isSameProcess, processUid } from './processes';
import type { RunRecord } from './run-records';

export function leftoverProcesses(record: RunRecord): number[] {
  const program = record.program;
  if (!program) return [];
  const leaderIsOurs = isSameProcess(program);
  const marker = `MP_RUN_ID=${record.runId}`;
  return allProcesses()
    .filter((stat) => stat.state !== 'Z' && stat.pid !== process.pid && stat.startTime >= program.startTime)
    .filter((stat) => processUid(stat.pid) === record.uid)
    .filter((stat) => ((stat.pgid === program.pid || stat.sid === program.pid) && leaderIsOurs) || environHas(stat.pid, marker))
    .map((stat) => stat.pid);
}

/** SIGKILLs the run's leftover processes; returns how many there were. */
export function killLeftovers(record: RunRecord): number {
  const pids = leftoverProcesses(record);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
  }
  return pids.length;
}
