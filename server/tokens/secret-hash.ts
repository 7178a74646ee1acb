import argon2 from 'argon2';

/** argon2id with the OWASP minimum: 19 MiB memory, 2 passes, 1 lane (about 30 ms here). */
const OWASP_ARGON2ID = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export function hashSecret(secret: string): Promise<string> {
  return argon2.hash(secret, OWASP_ARGON2ID);
}

export function verifySecret(hash: string, secret: string): Promise<boolean> {
  return argon2.verify(hash, secret);
}
