/**
 * Heartbeats: every MP_HEARTBEAT_SECONDS the `sendHeartbeat` mutation goes to the marketplace's
 * GraphQL API with the deployment token. The first one leaves as soon as the model load has
 * finished (READY, or UNHEALTHY with the reason in `details`). A failure is logged and the next
 * interval tries again. The receipt may carry a new `signalsUrl`: it is handed to `onSignalsUrl`.
 */
import { randomUUID } from 'node:crypto';
import { type HeartbeatConfig, httpUrl, redactUrl } from './config';
import type { HeartbeatInput } from './contract.generated';
import type { Log } from './log';

export const SEND_HEARTBEAT = `mutation SendHeartbeat($input: HeartbeatInput!) {
  sendHeartbeat(input: $input) { deploymentId health nextDueAt signalsUrl }
}`;

export interface HeartbeatOptions extends HeartbeatConfig {
  log: Log;
  /** What to report now; called once per heartbeat. */
  report: () => HeartbeatInput;
  onSignalsUrl: (url: URL) => void;
}

interface Receipt {
  data?: { sendHeartbeat?: { signalsUrl?: unknown; health?: unknown } | null } | null;
  errors?: { message?: unknown; extensions?: { code?: unknown } }[];
}

export class Heartbeats {
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private stopped = false;
  /** Whether the last one failed, so that only the change is logged, not every beat. */
  private failing: boolean | null = null;

  constructor(private readonly options: HeartbeatOptions) {}

  start(): void {
    if (this.stopped || this.timer || this.inFlight) return;
    this.options.log.info(`sending heartbeats to ${redactUrl(this.options.graphqlUrl)} every ${this.options.intervalMs / 1000} s`);
    this.beat();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight;
  }

  private beat(): void {
    this.inFlight = this.send()
      .catch((error: unknown) => this.failed(`heartbeat failed: ${(error as Error).message}`))
      .finally(() => {
        this.inFlight = null;
        if (this.stopped) return;
        this.timer = setTimeout(() => {
          this.timer = null;
          this.beat();
        }, this.options.intervalMs);
      });
  }

  private async send(): Promise<void> {
    const { graphqlUrl, token, intervalMs } = this.options;
    let response: Response;
    try {
      response = await fetch(graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-request-id': randomUUID() },
        body: JSON.stringify({ query: SEND_HEARTBEAT, variables: { input: this.options.report() } }),
        signal: AbortSignal.timeout(Math.max(2000, Math.min(intervalMs, 15_000))),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: unknown } }).cause;
      return this.failed(`heartbeat failed: ${redactUrl(graphqlUrl)} unreachable (${typeof cause?.code === 'string' ? cause.code : (error as Error).message})`);
    }
    const text = await response.text();
    let receipt: Receipt | null = null;
    try {
      receipt = JSON.parse(text) as Receipt;
    } catch {
      /* reported below */
    }
    const error = receipt?.errors?.[0];
    if (error) {
      const code = typeof error.extensions?.code === 'string' ? ` ${error.extensions.code}` : '';
      return this.failed(`heartbeat refused (HTTP ${response.status}${code}): ${String(error.message)}`);
    }
    const result = receipt?.data?.sendHeartbeat;
    if (!response.ok || !result) return this.failed(`heartbeat failed: HTTP ${response.status}, not a heartbeat receipt`);
    if (this.failing !== false)
      this.options.log.info(this.failing ? 'heartbeats reach the marketplace again' : `first heartbeat accepted (health ${String(result.health)})`);
    this.failing = false;
    if (typeof result.signalsUrl === 'string' && result.signalsUrl !== '') {
      try {
        this.options.onSignalsUrl(httpUrl(result.signalsUrl, "the heartbeat receipt's signalsUrl"));
      } catch (invalid) {
        this.options.log.warn(`${(invalid as Error).message}; signals keep their current destination`);
      }
    }
  }

  private failed(message: string): void {
    // Every failure is logged: a silent endpoint would look healthy here and missing there.
    this.options.log.warn(`${message}; trying again in ${this.options.intervalMs / 1000} s`);
    this.failing = true;
  }
}
