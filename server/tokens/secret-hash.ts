import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import argon2 from 'argon2';
import { LRUCache } from 'lru-cache';
import pLimit from 'p-limit';
import { DomainError } from '../domain-error';

/** argon2id with the OWASP minimum: 19 MiB memory, 2 passes, 1 lane (about 30 ms here). */
const OWASP_ARGON2ID = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/**
 * argon2 runs on libuv's thread pool, which file reads share, and each hash keeps a core busy
 * for about 30 ms: unbounded, a burst of key checks would queue every download behind hashes
 * and starve the event loop of CPU. So hashing gets at most all but two of the pool's threads
 * (UV_THREADPOOL_SIZE, default 4) and all but one core, process-wide like the pool itself, and
 * a burst beyond `MAX_WAITING_HASHES` is refused at once instead of queued.
 */
const THREAD_POOL_SIZE = Number(process.env.UV_THREADPOOL_SIZE) || 4;
export const HASH_CONCURRENCY = Math.max(1, Math.min(THREAD_POOL_SIZE - 2, availableParallelism() - 1));
const MAX_WAITING_HASHES = 64;
const hashing = pLimit(HASH_CONCURRENCY);

function bounded<T>(work: () => Promise<T>): Promise<T> {
  if (hashing.pendingCount >= MAX_WAITING_HASHES) {
    return Promise.reject(new DomainError('RATE_LIMITED', 'the server is busy checking credentials: retry in a second', { retryAfter: 1 }));
  }
  return hashing(work);
}

export function hashSecret(secret: string): Promise<string> {
  return bounded(() => argon2.hash(secret, OWASP_ARGON2ID));
}

/**
 * Secrets this process has verified, by the SHA-256 of the hash and the secret together: when a
 * credential's validation-cache entry runs out, checking it again (is it still live?) reads its
 * row but needs no second argon2. A rotated secret has another hash, so it is checked anew; what
 * is kept cannot be turned back into a secret (they carry over 200 random bits).
 */
const verified = new LRUCache<string, true>({ max: 100_000 });

function verifiedKey(hash: string, secret: string): string {
  return createHash('sha256').update(hash).update('\0').update(secret).digest('hex');
}

/** Whether `secret` was verified against `hash` before in this process (costs no hash). */
export function knownToMatch(hash: string, secret: string): boolean {
  return verified.has(verifiedKey(hash, secret));
}

export async function verifySecret(hash: string, secret: string): Promise<boolean> {
  if (knownToMatch(hash, secret)) return true;
  const matches = await bounded(() => argon2.verify(hash, secret));
  if (matches) verified.set(verifiedKey(hash, secret), true);
  return matches;
}
