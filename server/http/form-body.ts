export class MalformedFormError extends Error {}

/**
 * An `application/x-www-form-urlencoded` body, read strictly: a parameter given twice or a
 * broken percent-escape is an error (RFC 6749 §3.1: parameters MUST NOT be included more than
 * once), where URLSearchParams would quietly keep one or decode it to U+FFFD.
 */
export function parseForm(text: string): Map<string, string> {
  const form = new Map<string, string>();
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const name = decoded(equals < 0 ? pair : pair.slice(0, equals));
    const value = equals < 0 ? '' : decoded(pair.slice(equals + 1));
    if (form.has(name)) throw new MalformedFormError(`the ${name} parameter is given more than once`);
    form.set(name, value);
  }
  return form;
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw new MalformedFormError('malformed percent-encoding in the form body');
  }
}
