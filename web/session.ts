/** Sign-in and sign-out: the API key goes to the server once and only the HttpOnly cookie stays. */

interface ErrorBody {
  errors?: { message?: string }[];
}

async function reason(response: Response, fallback: string): Promise<string> {
  const body = (await response.json().catch(() => ({}))) as ErrorBody;
  return body.errors?.[0]?.message ?? fallback;
}

/** Resolves when the session cookie is set; rejects with one sentence the page can show. */
export async function signIn(apiKey: string): Promise<void> {
  let response: Response;
  try {
    response = await fetch('/auth/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify({ apiKey }),
    });
  } catch {
    throw new Error('The server cannot be reached: check that it is running and try again.');
  }
  if (!response.ok) throw new Error(capitalize(await reason(response, `sign-in failed (HTTP ${response.status}): try again`)));
}

export async function signOut(): Promise<void> {
  await fetch('/auth/session', { method: 'DELETE', credentials: 'same-origin' }).catch(() => undefined);
}

function capitalize(text: string): string {
  const sentence = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}
