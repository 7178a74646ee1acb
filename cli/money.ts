/** The largest budget a run may have, in USD. */
export const MAX_BUDGET_USD = 10_000;

/**
 * Parses `--budget`: a positive USD amount with at most 2 decimals (`5`, `12.50`, `$7.5`),
 * at most 10000. Returns the decimal string sent to the API (money is never a float).
 */
export function parseBudgetUsd(input: unknown): string {
  const text = String(input ?? '').trim();
  const match = /^\$?(\d+)(?:\.(\d{1,2}))?$/.exec(text);
  if (!match) {
    if (/^\$?-/.test(text)) throw new Error(`invalid --budget "${text}": must be positive`);
    if (/^\$?\d+\.\d{3,}$/.test(text)) throw new Error(`invalid --budget "${text}": at most 2 decimals (cents)`);
    throw new Error(`invalid --budget "${text}": use a USD amount such as 5 or 12.50`);
  }
  const whole = match[1].replace(/^0+(?=\d)/, '');
  const cents = match[2] ?? '';
  if (/^0+$/.test(whole) && /^0*$/.test(cents)) throw new Error(`invalid --budget "${text}": must be positive`);
  if (whole.length > 5 || Number(whole) > MAX_BUDGET_USD || (Number(whole) === MAX_BUDGET_USD && /[1-9]/.test(cents))) {
    throw new Error(`--budget "${text}" is too large: at most ${MAX_BUDGET_USD} USD`);
  }
  return cents ? `${whole}.${cents}` : whole;
}

/**
 * "$0.42" from "0.4200", "$5.00" from "5", "$0.0012" from "0.0012": cents always shown,
 * more digits only when they are not zero. String arithmetic, no float rounding.
 */
export function formatUsd(decimal: string | null | undefined): string {
  if (decimal === null || decimal === undefined || decimal === '') return '-';
  const match = /^(-?)(\d*)(?:\.(\d*))?$/.exec(decimal.trim());
  if (!match) return `$${decimal}`;
  const [, sign, whole, fraction = ''] = match;
  const trimmed = fraction.replace(/0+$/, '');
  return `${sign}$${whole || '0'}.${trimmed.padEnd(2, '0')}`;
}
