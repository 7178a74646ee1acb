/** Polls the endpoint's GET /health until it answers READY, says UNHEALTHY, or `signal` aborts. */
export type HealthOutcome = { kind: 'ready'; modelVersion: string | null } | { kind: 'unhealthy' } | { kind: 'aborted' };

const POLL_MS = 150;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export async function waitForHealth(baseUrl: string, signal: AbortSignal): Promise<HealthOutcome> {
  while (!signal.aborted) {
    try {
      const response = await fetch(`${baseUrl}/health`, { signal: AbortSignal.any([signal, AbortSignal.timeout(2000)]) });
      const body = (await response.json().catch(() => null)) as { status?: unknown; modelVersion?: unknown } | null;
      if (response.status === 200 && body?.status === 'READY') {
        return { kind: 'ready', modelVersion: typeof body.modelVersion === 'string' ? body.modelVersion : null };
      }
      if (body?.status === 'UNHEALTHY') return { kind: 'unhealthy' };
    } catch {
      // Not listening yet, or still starting: ask again.
    }
    await sleep(POLL_MS, signal);
  }
  return { kind: 'aborted' };
}
