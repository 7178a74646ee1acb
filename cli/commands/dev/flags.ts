// Flags of mp dev, parsed when yargs reads them (a bad value is exit 2).

/** `--port`: a whole number from 0 to 65535. */
export function parsePort(value: unknown): number {
  const text = String(value ?? '').trim();
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new Error(`invalid --port "${text}": use a whole number from 0 to 65535 (0 picks a free port)`);
  return port;
}
