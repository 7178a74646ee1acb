import type { TextOutput } from '../../io';
import { formatSeconds } from '../../duration';

/** What `mp deploy --wait` tells while it waits. Everything goes to one stream (stderr). */
export interface WaitProgress {
  /** The current state, e.g. "dep_… STARTING, health UNKNOWN: waiting for its first READY heartbeat". */
  update(text: string): void;
  /** A line of its own (a warning), kept above the spinner. */
  log(text: string): void;
  /** Stop drawing; the spinner's line is cleared. */
  stop(): void;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const CLEAR_LINE = '\r\u001b[2K';

/**
 * A spinner with the elapsed time on a terminal (unless --json), redrawn about 12 times a
 * second; elsewhere one plain line per change of state.
 */
export function createWaitProgress(stream: TextOutput, options: { json: boolean; env: NodeJS.ProcessEnv; initial: string }): WaitProgress {
  if (stream.isTTY === true && !options.json && options.env.TERM !== 'dumb') return new Spinner(stream, options.initial);
  let last: string | undefined;
  return {
    update(text) {
      if (text !== last) stream.write(`${text}\n`);
      last = text;
    },
    log(text) {
      stream.write(`${text}\n`);
    },
    stop: () => undefined,
  };
}

class Spinner implements WaitProgress {
  private frame = 0;
  private readonly started = Date.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: TextOutput,
    private text: string,
  ) {
    this.timer = setInterval(() => this.draw(), 80);
    this.timer.unref();
    this.draw();
  }

  update(text: string): void {
    this.text = text;
    this.draw();
  }

  log(text: string): void {
    this.stream.write(`${CLEAR_LINE}${text}\n`);
    this.draw();
  }

  stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.stream.write(CLEAR_LINE);
  }

  private draw(): void {
    if (this.timer === undefined) return;
    this.frame = (this.frame + 1) % FRAMES.length;
    const elapsed = formatSeconds((Date.now() - this.started) / 1000);
    const line = `${FRAMES[this.frame]} ${this.text} (${elapsed})`;
    // Cut to the terminal's width: a wrapped line could not be redrawn in place.
    const width = this.stream.columns ?? 80;
    const chars = [...line];
    this.stream.write(`${CLEAR_LINE}${chars.length >= width ? `${chars.slice(0, Math.max(1, width - 2)).join('')}…` : line}`);
  }
}
