import { REDACTED } from './mask-tokens';

/**
 * Shorter values are not masked: they would blank out ordinary words in every line, and a
 * password that short is no secret worth the name.
 */
const MIN_SECRET_LENGTH = 4;

/**
 * Exact secret values to mask (the signing secret, RUNPOD_API_KEY, the DATABASE_URL password),
 * each in the forms it takes in text: as given, percent-encoded (URLs, form bodies) and
 * JSON-escaped (the server log is JSON). Values are added, never removed.
 */
export class SecretValues {
  /** Every form of every value, longest first, so a value inside a longer one cannot leave the longer one's rest. */
  private forms: string[] = [];

  constructor(secrets: Iterable<string> = []) {
    for (const secret of secrets) this.add(secret);
  }

  add(secret: string): void {
    if (secret.length < MIN_SECRET_LENGTH) return;
    const forms = new Set([...this.forms, secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]);
    this.forms = [...forms].sort((a, b) => b.length - a.length);
  }

  mask(text: string): string {
    let masked = text;
    for (const form of this.forms) if (masked.includes(form)) masked = masked.replaceAll(form, REDACTED);
    return masked;
  }
}
