/**
 * Jobs: work shared by every server process of a cluster, coordinated through PostgreSQL.
 * - `leases.ts`: claiming a queued row with FOR UPDATE SKIP LOCKED, leases and their renewal,
 *   finding lapsed leases (the reaper) and adopting a lapsed row.
 * - `worker-pool.ts`: a process's share of a queue: claim while there is room, run each job
 *   with an AbortController, stop them on shutdown.
 * - `cluster-schedule.ts`: periodic tasks that run once per period across all processes.
 */
export { Leases, newWorkerId, type LeaseTable } from './leases';
export { WorkerPool, type WorkerPoolOptions } from './worker-pool';
export { ClusterSchedule } from './cluster-schedule';
