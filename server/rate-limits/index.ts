/**
 * Rate limits shared by every process of the cluster: counters in the database (PostgreSQL or
 * the embedded PGlite), so a client cannot multiply its allowance by spreading requests over
 * processes. Used for failed credential attempts and for the requests of each deployment token
 * and API key.
 */
export { SharedLimit, scheduleRateLimitPurge, RATE_LIMIT_TABLE, type LimitState, type LimitUsage, type SharedLimitOptions } from './shared-limit';
export { addressBucket } from './address-bucket';
