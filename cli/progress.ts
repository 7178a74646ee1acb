import type { TextOutput } from './io';
import { formatBytes, formatDuration, formatRate } from './format';

/**
 * What the download engine tells about one file. `update` is called for every chunk, so it
 * only stores the number: drawing happens on a timer (about 10 times a second on a
 * terminal, once a second in plain mode), never per chunk.
 */
export interface FileProgress {
  update(bytesDone: number): void;
  /** The file is complete and verified. */
  finish(): void;
  /** The transfer stopped early (error or Ctrl-C): stop drawing, keep what was drawn. */
  abort(): void;
}

export interface ProgressReporter {
  /** A transfer of `name` starts with `startBytes` already on disk (a resumed `.part`). */
  start(name: string, totalBytes: number, startBytes: number): FileProgress;
}

/** Receives nothing, draws nothing (for library use and tests that don't care). */
export const silentProgress: ProgressReporter = {
  start: () => ({ update: () => undefined, finish: () => undefined, abort: () => undefined }),
};

export interface ProgressOptions {
  /** --json: never draw a bar, even on a terminal. */
  json: boolean;
  /** Milliseconds between plain lines (default 1000). */
  plainIntervalMs?: number;
  /** Pad file names to this width so the bars of several files line up. */
  labelWidth?: number;
}

/** A bar on a terminal (unless --json), plain periodic lines otherwise. Everything goes to `stream` (stderr). */
export function createProgress(stream: TextOutput, options: ProgressOptions): ProgressReporter {
  if (stream.isTTY === true && !options.json) return new BarProgress(stream as NodeJS.WriteStream, options.labelWidth ?? 0);
  return new PlainProgress(stream, options.plainIntervalMs ?? 1000);
}

/** Bytes this session moved (not counting a resumed prefix) over the elapsed time. */
class Meter {
  readonly started = Date.now();
  done: number;

  constructor(
    readonly name: string,
    readonly total: number,
    readonly startBytes: number,
  ) {
    this.done = startBytes;
  }

  rate(now = Date.now()): number {
    const elapsed = (now - this.started) / 1000;
    return elapsed > 0 ? (this.done - this.startBytes) / elapsed : 0;
  }

  percent(): number {
    return this.total > 0 ? Math.floor((this.done / this.total) * 100) : 100;
  }

  line(): string {
    return `${this.name} ${formatBytes(this.done)} / ${formatBytes(this.total)} (${this.percent()}%) ${formatRate(this.rate())}`;
  }
}

/** `train.csv 12.3 MB / 40.1 MB (31%) 8.2 MB/s`, once per interval, and once at the end. */
export class PlainProgress implements ProgressReporter {
  constructor(
    private readonly stream: TextOutput,
    private readonly intervalMs: number,
  ) {}

  start(name: string, totalBytes: number, startBytes: number): FileProgress {
    const meter = new Meter(name, totalBytes, startBytes);
    const stream = this.stream;
    const timer = setInterval(() => stream.write(`${meter.line()}\n`), this.intervalMs);
    timer.unref();
    let stopped = false;
    return {
      update(bytesDone) {
        meter.done = bytesDone;
      },
      finish() {
        if (stopped) return;
        stopped = true;
        clearInterval(timer);
        const elapsed = Date.now() - meter.started;
        stream.write(`${meter.line()}, done in ${formatDuration(elapsed)}\n`);
      },
      abort() {
        if (stopped) return;
        stopped = true;
        clearInterval(timer);
        stream.write(`${meter.line()}, stopped\n`);
      },
    };
  }
}

/** One cli-progress bar per file, redrawn at most 10 times a second; a finished bar stays on screen. */
export class BarProgress implements ProgressReporter {
  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly labelWidth = 0,
  ) {}

  start(name: string, totalBytes: number, startBytes: number): FileProgress {
    // Loaded only when a bar is drawn: `mp --version` and scripts never pay for it.
    const { SingleBar } = require('cli-progress') as typeof import('cli-progress');
    const meter = new Meter(name, totalBytes, startBytes);
    const label = name.padEnd(this.labelWidth);
    const payload = () => ({
      name: label,
      done: formatBytes(meter.done),
      size: formatBytes(totalBytes),
      rate: formatRate(meter.rate()),
    });
    const bar = new SingleBar({
      stream: this.stream,
      format: '{name} {bar} {percentage}% | {done} / {size} | {rate} | ETA {eta_formatted}',
      barCompleteChar: '\u2588',
      barIncompleteChar: '\u2591',
      barsize: 30,
      hideCursor: true,
      fps: 10,
      // The sampler below feeds the bar; the bar never renders from inside a chunk handler.
      synchronousUpdate: false,
      etaBuffer: 50,
    });
    bar.start(Math.max(totalBytes, 1), Math.min(startBytes, Math.max(totalBytes, 1)), payload());
    const sampler = setInterval(() => bar.update(meter.done, payload()), 100);
    sampler.unref();
    let stopped = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      clearInterval(sampler);
      bar.update(meter.done, payload());
      bar.stop();
    };
    return {
      update(bytesDone) {
        meter.done = bytesDone;
      },
      finish: stop,
      abort: stop,
    };
  }
}
