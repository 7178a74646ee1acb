import { RoundInputError } from './errors';

/** One CSV record and the 1-based line its first field starts on. */
export interface CsvRecord {
  line: number;
  fields: string[];
}

/**
 * Splits CSV text into records (RFC 4180 basics): comma separated, fields optionally in double
 * quotes, `""` inside quotes is one quote, quoted fields may hold commas and line breaks, CRLF or
 * LF line ends. A leading byte-order mark is ignored, and so are blank lines.
 */
export function parseCsvRecords(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const input = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let inQuotes = false;
  let quoteLine = 1;
  let fieldWasQuoted = false;

  const endRecord = (): void => {
    fields.push(field);
    const blank = fields.length === 1 && fields[0] === '' && !fieldWasQuoted;
    if (!blank) records.push({ line: recordLine, fields });
    fields = [];
    field = '';
    fieldWasQuoted = false;
  };

  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (inQuotes) {
      if (ch === '"') {
        if (input[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          inQuotes = false;
        }
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"') {
      if (field.trim() !== '') {
        throw new RoundInputError(
          `a double quote appears inside an unquoted field ("${field}"); quote the whole field and write a quote inside it as ""`,
          line,
        );
      }
      field = '';
      inQuotes = true;
      fieldWasQuoted = true;
      quoteLine = line;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
      fieldWasQuoted = false;
    } else if (ch === '\r' && input[i + 1] === '\n') {
      // CRLF: the \n ends the record.
    } else if (ch === '\n') {
      endRecord();
      line++;
      recordLine = line;
    } else {
      if (fieldWasQuoted && ch !== ' ' && ch !== '\t' && ch !== '\r') {
        throw new RoundInputError('text follows the closing quote of a quoted field; put the whole field inside the quotes', line);
      }
      field += ch;
    }
  }
  if (inQuotes) {
    throw new RoundInputError('a quoted field is never closed; add the missing closing double quote', quoteLine);
  }
  if (field !== '' || fields.length > 0 || fieldWasQuoted) endRecord();
  return records;
}

/** One CSV field, quoted only when it has to be. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** CSV text with a header line and '\n' line ends (including after the last row). */
export function toCsv(columns: string[], rows: string[][]): string {
  const lines = [columns.map(csvField).join(',')];
  for (const row of rows) lines.push(row.map(csvField).join(','));
  return `${lines.join('\n')}\n`;
}
