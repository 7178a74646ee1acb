/** Display helpers: fixed formats so what a page shows does not depend on the browser's locale. */

export function formatScore(value: number | null | undefined, digits = 4): string {
  return value === null || value === undefined ? '–' : value.toFixed(digits);
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '–';
  return `${new Date(iso).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function formatDate(iso: string | null | undefined): string {
  return iso ? new Date(iso).toISOString().slice(0, 10) : '–';
}
