/**
 * What the endpoint is doing now: its status (STARTING while the model loads, READY, UNHEALTHY
 * when it cannot serve; BUSY is READY at capacity), the model, and the figures a heartbeat reports.
 */
import type { EndpointHealth, EndpointStatus } from './contract.generated';
import type { LoadedModel } from './model-file';

export interface IntervalFigures {
  /** Mean time inside the model over the interval, or null when nothing was answered. */
  latencyMs: number | null;
  answered: number;
  rejectedBusy: number;
}

export class EndpointState {
  private loaded: LoadedModel | null = null;
  private failure: string | null = null;
  private inflight = 0;
  private latencySum = 0;
  private answered = 0;
  private rejectedBusy = 0;

  constructor(readonly maxConcurrent: number) {}

  get model(): LoadedModel | null {
    return this.loaded;
  }

  /** Why the endpoint is UNHEALTHY, or null. */
  get reason(): string | null {
    return this.failure;
  }

  ready(model: LoadedModel): void {
    this.loaded = model;
    this.failure = null;
  }

  fail(reason: string): void {
    this.loaded = null;
    this.failure = reason;
  }

  get status(): EndpointStatus {
    if (this.failure !== null) return 'UNHEALTHY';
    if (this.loaded === null) return 'STARTING';
    return this.inflight >= this.maxConcurrent ? 'BUSY' : 'READY';
  }

  health(): EndpointHealth {
    return { status: this.status, modelVersion: this.loaded?.version ?? null };
  }

  /** Takes a slot for an inference request; false (and counted) when all are taken. */
  enter(): boolean {
    if (this.inflight >= this.maxConcurrent) {
      this.rejectedBusy += 1;
      return false;
    }
    this.inflight += 1;
    return true;
  }

  leave(): void {
    this.inflight -= 1;
  }

  get inFlight(): number {
    return this.inflight;
  }

  recordAnswer(latencyMs: number): void {
    this.latencySum += latencyMs;
    this.answered += 1;
  }

  /** The figures since the last call, which starts a new interval. */
  takeInterval(): IntervalFigures {
    const figures = { latencyMs: this.answered > 0 ? this.latencySum / this.answered : null, answered: this.answered, rejectedBusy: this.rejectedBusy };
    this.latencySum = 0;
    this.answered = 0;
    this.rejectedBusy = 0;
    return figures;
  }
}
