/**
 * Turns a child process's raw output bytes into safe log lines: split on "\n" ("\r\n" and
 * stray "\r" are handled by the sanitizer), decoded as UTF-8 with invalid bytes replaced by
 * U+FFFD, control characters removed, and every line capped at `maxLineBytes` bytes. The
 * splitter never holds more than `maxLineBytes` bytes of a partial line, so a program that
 * prints a 1 GB line without a newline costs at most that much memory.
 */

/** C0 controls except TAB, DEL, and the C1 controls (which only do harm in a terminal or a log viewer). */
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u0008\u000A-\u001F\u007F-\u009F]/g;

/** Decodes one line's bytes as UTF-8 (invalid sequences become U+FFFD) and removes control characters. */
export function sanitizeLine(bytes: Buffer): string {
  return bytes.toString('utf8').replace(CONTROL_CHARS, '');
}

/** The largest `n <= end` such that `bytes[0, n)` does not end inside a multi-byte UTF-8 sequence. */
export function utf8Boundary(bytes: Buffer, end: number): number {
  let lead = end - 1;
  // Walk back over at most 3 continuation bytes (10xxxxxx) to the byte that starts the last character.
  while (lead >= 0 && end - lead <= 3 && (bytes[lead]! & 0xc0) === 0x80) lead--;
  if (lead < 0) return end;
  const b = bytes[lead]!;
  const length = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xc2 && b <= 0xdf ? 2 : 1;
  // A lead byte whose sequence would run past the cut: cut before it. Anything else (ASCII,
  // invalid bytes, a complete sequence) stays; invalid bytes become U+FFFD when decoded anyway.
  return length > 1 && lead + length > end ? lead : end;
}

export function truncationMarker(maxLineBytes: number): string {
  return ` … [line truncated at ${maxLineBytes} bytes]`;
}

export class LineSplitter {
  private parts: Buffer[] = [];
  private partBytes = 0;
  /** True after a line was cut: everything up to its newline is dropped. */
  private dropping = false;

  constructor(
    private readonly maxLineBytes: number,
    private readonly onLine: (line: string) => void,
  ) {
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1) throw new RangeError(`maxLineBytes must be a positive integer, got ${maxLineBytes}`);
  }

  push(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      const newline = chunk.indexOf(0x0a, pos);
      const end = newline === -1 ? chunk.length : newline;
      // A "\r" right before the newline is not part of the line (sanitizeLine would drop it
      // anyway), so it must not push a line of exactly maxLineBytes over the limit.
      const crlf = newline > pos && chunk[newline - 1] === 0x0d;
      const segment = chunk.subarray(pos, crlf ? end - 1 : end);
      pos = newline === -1 ? chunk.length : newline + 1;
      if (this.dropping) {
        if (newline !== -1) this.dropping = false;
        continue;
      }
      const room = this.maxLineBytes - this.partBytes;
      if (segment.length > room) {
        // Keep exactly what fits (copied, so the chunk can be freed), emit the cut line now.
        this.parts.push(Buffer.from(segment.subarray(0, room)));
        const whole = Buffer.concat(this.parts);
        this.reset();
        this.onLine(sanitizeLine(whole.subarray(0, utf8Boundary(whole, whole.length))) + truncationMarker(this.maxLineBytes));
        this.dropping = newline === -1;
        continue;
      }
      if (newline === -1) {
        this.parts.push(Buffer.from(segment));
        this.partBytes += segment.length;
      } else {
        const whole = this.parts.length === 0 ? segment : Buffer.concat([...this.parts, segment]);
        this.reset();
        this.onLine(sanitizeLine(whole));
      }
    }
  }

  /** The stream ended: a last line without a newline is still a line. */
  end(): void {
    if (this.partBytes > 0) {
      const whole = Buffer.concat(this.parts);
      this.reset();
      this.onLine(sanitizeLine(whole));
    }
    this.dropping = false;
  }

  private reset(): void {
    this.parts = [];
    this.partBytes = 0;
  }
}
