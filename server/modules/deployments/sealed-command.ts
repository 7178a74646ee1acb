import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * A command for the process that runs a LOCAL deployment travels in a NOTIFY payload, which
 * Postgres may log; it can carry a new deployment token. So it is sealed (AES-256-GCM) with a key
 * every process derives from the signing secret they share, and opened only by them.
 */
export class CommandSeal {
  private readonly key: Buffer;

  constructor(signingSecret: Buffer) {
    this.key = createHash('sha256').update('mp-deployment-command\0').update(signingSecret).digest();
  }

  seal(value: unknown): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return [iv, cipher.getAuthTag(), body].map((part) => part.toString('base64url')).join('.');
  }

  /** The sealed value, or null for anything not sealed with this key. */
  open<T>(sealed: string): T | null {
    const [iv, tag, body] = sealed.split('.').map((part) => Buffer.from(part, 'base64url'));
    if (!iv || !tag || !body) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
      decipher.setAuthTag(tag);
      return JSON.parse(Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8')) as T;
    } catch {
      return null;
    }
  }
}
