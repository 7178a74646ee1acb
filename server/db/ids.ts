import { randomBytes } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `length` uniformly random base62 characters (rejection sampling, no modulo bias). */
export function randomBase62(length: number): string {
  let result = '';
  while (result.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) result += BASE62[byte % 62];
      if (result.length === length) break;
    }
  }
  return result;
}

export function encodeBase62(value: number, width: number): string {
  let result = '';
  let rest = value;
  for (let i = 0; i < width; i++) {
    result = BASE62[rest % 62] + result;
    rest = Math.floor(rest / 62);
  }
  return result;
}

/** The prefixes of our object ids; the prefix tells `node(id)` which type it is. */
export const ID_PREFIXES = { vendor: 'ven', apiKey: 'key', catalogModel: 'mdl', trainingRun: 'run' } as const;
export type IdKind = keyof typeof ID_PREFIXES;

export function newId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}_${randomBase62(16)}`;
}

export function idKindOf(id: string): IdKind | undefined {
  const prefix = id.split('_', 1)[0];
  return (Object.keys(ID_PREFIXES) as IdKind[]).find((kind) => ID_PREFIXES[kind] === prefix);
}
