/** application/json, or a +json type such as application/problem+json; parameters (charset) allowed. */
export function isJsonContentType(value: string | undefined): boolean {
  return value !== undefined && /^\s*application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i.test(value);
}
