import { styleText } from 'node:util';
import type { Io, TextOutput } from './io';

export type Style = Parameters<typeof styleText>[0];
export type Paint = (style: Style, text: string) => string;

/**
 * Colors only when the user did not opt out (--no-color, NO_COLOR) and the stream is a
 * terminal, unless FORCE_COLOR asks for them anyway.
 */
export function colorEnabled(stream: TextOutput, env: NodeJS.ProcessEnv, colorFlag: boolean): boolean {
  if (!colorFlag) return false;
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false') return true;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

export function painter(enabled: boolean): Paint {
  return enabled ? (style, text) => styleText(style, text, { validateStream: false }) : (_style, text) => text;
}

export interface Column<Row> {
  header: string;
  value: (row: Row) => string;
  style?: (row: Row) => Style | undefined;
}

function width(text: string): number {
  return [...text].length;
}

/** An aligned table with an upper-case header row; the last column is not padded. */
export function renderTable<Row>(columns: ReadonlyArray<Column<Row>>, rows: ReadonlyArray<Row>, paint: Paint): string {
  const cells = rows.map((row) => columns.map((column) => column.value(row)));
  const headers = columns.map((column) => column.header.toUpperCase());
  const widths = headers.map((header, i) => Math.max(width(header), ...cells.map((line) => width(line[i]))));
  const pad = (text: string, i: number) => (i === columns.length - 1 ? text : text + ' '.repeat(widths[i] - width(text)));
  const headerLine = headers.map((header, i) => paint('bold', pad(header, i))).join('  ');
  const bodyLines = cells.map((line, r) =>
    line
      .map((text, i) => {
        const style = columns[i].style?.(rows[r]);
        const padded = pad(text, i);
        return style ? paint(style, padded) : padded;
      })
      .join('  '),
  );
  return `${[headerLine, ...bodyLines].map((line) => line.trimEnd()).join('\n')}\n`;
}

/** `Label   value` lines with the labels aligned. */
export function renderKeyValue(pairs: ReadonlyArray<readonly [string, string]>, paint: Paint): string {
  const labelWidth = Math.max(...pairs.map(([label]) => width(label)));
  return pairs.map(([label, value]) => `${paint('bold', label + ':')}${' '.repeat(labelWidth - width(label) + 2)}${value}\n`).join('');
}

export interface OutputOptions {
  json: boolean;
  color: boolean;
}

/**
 * Results go to stdout (human text, or JSON with --json); status lines, warnings and hints
 * go to stderr so that `mp ... --json | jq` only ever sees JSON.
 */
export class Output {
  readonly json: boolean;
  /** Paints text bound for stdout. */
  readonly paint: Paint;
  /** Paints text bound for stderr. */
  readonly paintErr: Paint;
  private readonly io: Io;

  constructor(io: Io, options: OutputOptions) {
    this.io = io;
    this.json = options.json;
    this.paint = painter(colorEnabled(io.stdout, io.env, options.color));
    this.paintErr = painter(colorEnabled(io.stderr, io.env, options.color));
  }

  data(value: unknown): void {
    this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  line(text: string): void {
    this.io.stdout.write(`${text}\n`);
  }

  table<Row>(columns: ReadonlyArray<Column<Row>>, rows: ReadonlyArray<Row>): void {
    this.io.stdout.write(renderTable(columns, rows, this.paint));
  }

  keyValue(pairs: ReadonlyArray<readonly [string, string]>): void {
    this.io.stdout.write(renderKeyValue(pairs, this.paint));
  }

  status(text: string): void {
    this.io.stderr.write(`${text}\n`);
  }

  /** The outcome of a command that changed something (stdout: it is the command's result). */
  success(text: string): void {
    this.io.stdout.write(`${this.paint('green', '✓')} ${text}\n`);
  }

  warn(text: string): void {
    this.io.stderr.write(`${this.paintErr('yellow', '!')} ${text}\n`);
  }
}
