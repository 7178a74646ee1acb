import type { HttpCall } from './http-client';
import { truncate } from './truncate';

/** Longer bodies are cut in the printed command; `--seed` sends the whole request again. */
export const MAX_CURL_BODY_CHARS = 1000;

/** A word the shell takes as it is: single quotes, with each `'` written as `'\''`. */
export function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

export interface CurlCommand {
  command: string;
  /** Whether the body in `command` is only its beginning. */
  truncated: boolean;
}

/** The request as a curl command that shows the status and headers of the answer (`-i`). */
export function curlCommand(url: string, call: HttpCall): CurlCommand {
  const words = ['curl', '-sS', '-i'];
  if (call.method !== 'GET' || call.body !== undefined) words.push('-X', call.method);
  words.push(shellQuote(url));
  for (const [name, value] of Object.entries(call.headers)) words.push('-H', shellQuote(`${name}: ${value}`));
  let truncated = false;
  if (call.body !== undefined) {
    const cut = truncate(call.body, MAX_CURL_BODY_CHARS);
    truncated = cut.truncated;
    const body = truncated ? `${cut.text}…` : call.body;
    words.push('--data-raw', body === '' ? "''" : shellQuote(body));
  }
  return { command: words.join(' '), truncated };
}
