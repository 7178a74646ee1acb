// Short-lived signed download URLs: `<path>?expires=<unix seconds>&signature=<HMAC>`.
// The signature binds the exact decoded path and the expiry, so changing either breaks it.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';

export const SIGNING_SECRET_FILE = 'signing-secret';
export const MIN_SECRET_LENGTH = 32;

export type VerifyResult = { ok: true } | { ok: false; reason: string };

/** base64url of a 32-byte HMAC-SHA256, unpadded. */
const SIGNATURE_SHAPE = /^[A-Za-z0-9_-]{43}$/;
const EXPIRES_SHAPE = /^[0-9]{1,12}$/;

export class UrlSigner {
  readonly #secret: Buffer;

  constructor(secret: Buffer) {
    if (secret.length < MIN_SECRET_LENGTH) throw new Error(`the signing secret must be at least ${MIN_SECRET_LENGTH} bytes (it has ${secret.length})`);
    this.#secret = Buffer.from(secret);
  }

  /**
   * The query string for `path` (the decoded pathname, such as `/files/rounds/1/train.csv`):
   * `expires=<unix seconds>&signature=<base64url HMAC-SHA256 of "<path>\n<expires>">`.
   */
  sign(path: string, expiresAt: Date): string {
    const expires = Math.floor(expiresAt.getTime() / 1000);
    if (!Number.isSafeInteger(expires) || expires < 0) throw new RangeError(`invalid expiry ${String(expiresAt)}`);
    return `expires=${expires}&signature=${this.mac(path, String(expires))}`;
  }

  /**
   * A full URL: `base` (such as MP_PUBLIC_URL) + `path` with each segment percent-encoded + the
   * signed query. The server decodes the path again before verifying, so this round-trips.
   */
  signedUrl(base: string, path: string, expiresAt: Date): string {
    const encoded = path.split('/').map(encodeURIComponent).join('/');
    return `${base.replace(/\/+$/, '')}${encoded}?${this.sign(path, expiresAt)}`;
  }

  /** Checks a request's decoded pathname and query. The reason is one line, fit for a 403 body. */
  verify(path: string, searchParams: URLSearchParams, now: Date = new Date()): VerifyResult {
    const signature = searchParams.get('signature');
    if (signature === null || signature === '') return { ok: false, reason: 'signature missing' };
    const expires = searchParams.get('expires');
    if (expires === null || !EXPIRES_SHAPE.test(expires)) return { ok: false, reason: 'malformed expires' };
    // Compare the canonical text, not decoded bytes: base64 decoding is lenient (padding, spare
    // bits), and every other spelling of the signature must fail too. The length check first
    // tells an attacker nothing about the secret; the comparison itself is constant-time.
    const expected = Buffer.from(this.mac(path, expires), 'ascii');
    const given = Buffer.from(signature, 'utf8');
    if (!SIGNATURE_SHAPE.test(signature) || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, reason: 'invalid signature: the URL was changed or is not from this server' };
    }
    const expiresAtMs = Number(expires) * 1000;
    if (now.getTime() >= expiresAtMs) {
      return { ok: false, reason: `expired at ${new Date(expiresAtMs).toISOString()}: ask for a new download URL` };
    }
    return { ok: true };
  }

  private mac(path: string, expires: string): string {
    return createHmac('sha256', this.#secret).update(`${path}\n${expires}`, 'utf8').digest('base64url');
  }
}

/**
 * The secret download URLs are signed with: `secret` (MP_SIGNING_SECRET, at least 32 characters)
 * when given; otherwise the one kept in `<dataDir>/signing-secret`, generated there (32 random
 * bytes, base64url, mode 0600) by the first process that needs it. Processes sharing a data
 * directory, even started together, all end up with the same secret. Every process behind one
 * MP_PUBLIC_URL must use the same secret: set MP_SIGNING_SECRET when they do not share MP_DATA_DIR.
 */
export async function loadSigningSecret(options: { secret?: string; dataDir: string }): Promise<Buffer> {
  if (options.secret !== undefined) {
    if (options.secret.length < MIN_SECRET_LENGTH) {
      throw new Error(
        `MP_SIGNING_SECRET must be at least ${MIN_SECRET_LENGTH} characters (it has ${options.secret.length}): ` +
          'generate one with `openssl rand -base64 48`, or leave it unset to use the one generated in MP_DATA_DIR',
      );
    }
    return Buffer.from(options.secret, 'utf8');
  }
  const file = path.join(options.dataDir, SIGNING_SECRET_FILE);
  const existing = await readSecretFile(file, 1000);
  if (existing) {
    await keepPrivate(file);
    return existing;
  }

  await mkdir(options.dataDir, { recursive: true });
  // Written whole to a private temporary file, then hard-linked to the final name: link() fails
  // with EEXIST like open(O_CREAT|O_EXCL) does, and the file appears with all of its content, so a
  // process that loses the race reads the winner's complete secret, never an empty file.
  const secret = `${randomBytes(32).toString('base64url')}\n`;
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(secret, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(tmp, file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') {
      await unlink(tmp).catch(() => undefined);
      throw error;
    }
    if (code !== 'EEXIST') await createExclusively(file, secret); // no hard links on this file system
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  // Whoever won, the file now holds the secret everyone uses.
  const winner = await readSecretFile(file, 2000);
  if (!winner) throw new Error(`could not read the signing secret from ${file} after creating it`);
  await keepPrivate(file);
  return winner;
}

/** Mode 0600, however the file came to be (copied, restored from a backup, made by hand). */
async function keepPrivate(file: string): Promise<void> {
  const { mode } = await stat(file);
  if ((mode & 0o7777) === 0o600) return;
  try {
    await chmod(file, 0o600);
  } catch (error) {
    throw new Error(`the signing secret in ${file} has mode ${(mode & 0o7777).toString(8)} and could not be made 0600: ${(error as Error).message}`);
  }
}

/** Fallback when link() is not supported: O_EXCL create, then write (a loser may briefly see it empty). */
async function createExclusively(file: string, secret: string): Promise<void> {
  let handle;
  try {
    handle = await open(file, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw error;
  }
  try {
    await handle.writeFile(secret, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The secret in `file`, or null when there is no such file. An empty file (another process is
 * still writing it) is waited for up to `waitMs`; a short one is an error.
 */
async function readSecretFile(file: string, waitMs = 0): Promise<Buffer | null> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const secret = text.trim();
    if (secret.length >= MIN_SECRET_LENGTH) return Buffer.from(secret, 'utf8');
    if (text.length > 0 || Date.now() >= deadline) {
      throw new Error(
        `the signing secret in ${file} is shorter than ${MIN_SECRET_LENGTH} characters: delete the file to generate ` +
          'a new one (download URLs already handed out stop working) or set MP_SIGNING_SECRET',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
