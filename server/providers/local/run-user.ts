/** Which user local training programs and LOCAL deployments run as, and what that user may reach on disk. */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

export interface RunUser {
  name: string;
  uid: number;
  gid: number;
}

/**
 * The default for MP_LOCAL_RUN_USER: `nobody` when the server runs as root (a training program
 * must not), else none, meaning the server's own user (the only one it can switch to).
 */
export function defaultLocalRunUser(): string | undefined {
  return process.getuid?.() === 0 ? 'nobody' : undefined;
}

/**
 * Who local training programs run as: MP_LOCAL_RUN_USER when set; else `nobody` under root when
 * `nobody` can reach everything a program needs (`needs`: the templates, node, tsx), else the
 * server's own user, with a warning saying why (the machine does not allow the switch).
 */
export function localRunUser(configured: string | undefined, needs: (string | undefined)[]): { name: string | undefined; warning?: string } {
  if (configured) return { name: configured };
  const fallback = defaultLocalRunUser();
  if (!fallback) return { name: undefined };
  let user: RunUser;
  try {
    user = resolveRunUser(fallback);
  } catch {
    return {
      name: undefined,
      warning: `there is no user ${fallback} to run local training programs and deployments as: they run as root; set MP_LOCAL_RUN_USER`,
    };
  }
  for (const target of needs) {
    const problem = target ? unreachableBy(target, user) : null;
    if (problem) {
      return {
        name: undefined,
        warning: `local training programs and deployments run as root, not ${fallback}: ${problem} (make it reachable, or set MP_LOCAL_RUN_USER)`,
      };
    }
  }
  return { name: fallback };
}

/** The uid and gid of a user name or numeric uid: /etc/passwd first, then `id` (users from LDAP and the like). */
export function resolveRunUser(spec: string): RunUser {
  const wanted = spec.trim();
  const numeric = /^\d+$/.test(wanted);
  for (const line of readPasswd()) {
    const [name, , uid, gid] = line.split(':');
    if (name === undefined || uid === undefined || gid === undefined) continue;
    if ((numeric ? uid : name) === wanted && /^\d+$/.test(uid) && /^\d+$/.test(gid)) return { name, uid: Number(uid), gid: Number(gid) };
  }
  try {
    const uid = Number(execFileSync('id', ['-u', wanted], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    const gid = Number(execFileSync('id', ['-g', wanted], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    if (Number.isSafeInteger(uid) && Number.isSafeInteger(gid)) return { name: wanted, uid, gid };
  } catch {
    /* no such user */
  }
  if (numeric) return { name: wanted, uid: Number(wanted), gid: Number(wanted) };
  throw new RangeError(`there is no user ${JSON.stringify(spec)} on this machine to run local training programs as (MP_LOCAL_RUN_USER)`);
}

function readPasswd(): string[] {
  try {
    return readFileSync('/etc/passwd', 'utf8').split('\n');
  } catch {
    return [];
  }
}

/**
 * Why `user` cannot reach `target` (every directory on its way searchable, the target itself
 * readable, or searchable when it is a directory), or null when it can. Judged by the mode bits
 * as the kernel would for a user without supplementary groups (the supervisor drops them).
 */
export function unreachableBy(target: string, user: RunUser): string | null {
  const absolute = path.resolve(target);
  const chain: string[] = [];
  for (let dir = absolute; ; dir = path.dirname(dir)) {
    chain.unshift(dir);
    if (dir === path.dirname(dir)) break;
  }
  for (const [index, entry] of chain.entries()) {
    let stats;
    try {
      stats = statSync(entry);
    } catch (error) {
      return `${entry} cannot be examined (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
    }
    const last = index === chain.length - 1;
    const need = last && !stats.isDirectory() ? 0o4 : 0o1;
    const bits = stats.uid === user.uid ? (stats.mode >> 6) & 0o7 : stats.gid === user.gid ? (stats.mode >> 3) & 0o7 : stats.mode & 0o7;
    if ((bits & need) === 0) return `${entry} is not ${need === 0o4 ? 'readable' : 'searchable'} by ${user.name} (uid ${user.uid})`;
  }
  return null;
}
