/** Where a command reads and writes: the real process in production, buffers in tests. */
export interface TextOutput {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface TextInput extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export interface Io {
  stdout: TextOutput;
  stderr: TextOutput;
  stdin: TextInput;
  env: NodeJS.ProcessEnv;
}

export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}
