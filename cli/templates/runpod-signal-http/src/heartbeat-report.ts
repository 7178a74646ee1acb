/** What one heartbeat says: the status, the mean model latency since the last one, and details. */
import type { HeartbeatInput } from './contract.generated';
import type { SignalSink } from './signal-sink';
import type { EndpointState } from './state';

export function heartbeatReport(state: EndpointState, sink: SignalSink, podId: string | null): HeartbeatInput {
  const figures = state.takeInterval();
  // Turning requests away since the last heartbeat is BUSY, even if the peak has passed.
  const status = figures.rejectedBusy > 0 && state.status === 'READY' ? 'BUSY' : state.status;
  return {
    status,
    latencyMs: figures.latencyMs,
    version: state.model?.version ?? null,
    details: {
      answered: figures.answered,
      rejectedBusy: figures.rejectedBusy,
      inFlight: state.inFlight,
      signals: sink.stats,
      uptimeSeconds: Math.round(process.uptime()),
      ...(state.reason ? { reason: state.reason.slice(0, 1000) } : {}),
      ...(podId ? { podId } : {}),
    },
  };
}
