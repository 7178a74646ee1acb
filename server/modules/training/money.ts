import { badInput } from '../../domain-error';

/** USD amounts travel as decimal strings and are computed in integer micro-dollars, never floats. */
const MICROS = 1_000_000;

export function parseUsd(field: string, text: string, { max }: { max: number }): number {
  if (!/^\d{1,7}(\.\d{1,4})?$/.test(text.trim())) throw badInput(field, `must be a USD amount like "5" or "12.50" (got ${JSON.stringify(text)})`);
  const [whole, fraction = ''] = text.trim().split('.');
  const micros = Number(whole) * MICROS + Number(fraction.padEnd(6, '0'));
  if (micros <= 0) throw badInput(field, 'must be more than 0');
  if (micros > max * MICROS) throw badInput(field, `must be at most ${max}`);
  return micros;
}

export function microsFromDecimal(text: string): number {
  const [whole, fraction = ''] = String(text).split('.');
  return Number(whole) * MICROS + Number(fraction.slice(0, 6).padEnd(6, '0'));
}

/** 4 decimals, as stored (numeric(12,4)). */
export function formatUsd(micros: number): string {
  const rounded = Math.round(micros / 100);
  return `${Math.floor(rounded / 10_000)}.${String(rounded % 10_000).padStart(4, '0')}`;
}

/** Price per hour x seconds, in micro-dollars. */
export function costMicros(pricePerHourUsd: string, seconds: number): number {
  return Math.round((microsFromDecimal(pricePerHourUsd) * seconds) / 3600);
}
