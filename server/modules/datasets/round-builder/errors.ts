/**
 * Bad input to the round builder: a CSV that cannot be used, too little data, or options out of
 * range. The message says what is wrong and how to fix it; `line` is the 1-based line of the CSV
 * text where the problem is, when there is one (the message then starts with "line N: ").
 */
export class RoundInputError extends Error {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(line === undefined ? message : `line ${line}: ${message}`);
    this.name = 'RoundInputError';
  }
}
