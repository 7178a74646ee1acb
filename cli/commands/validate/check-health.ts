// Check 1: GET /health answers an EndpointHealth; READY with 200. While it says STARTING (a model
// loading), it is asked again until --timeout has passed.
import { setTimeout as sleep } from 'node:timers/promises';
import { EndpointHealthSchema } from '../../../generated/contracts';
import { formatDuration } from '../../format';
import { Failures, failed, passed, type CheckResult } from './check-result';
import { HEALTH_PATH, type CheckContext } from './context';
import { transportProblem, UNREACHABLE_CODES } from './describe-outcome';
import type { Exchange, HttpCall } from './http-client';
import { conformingBody } from './json-answer';

export const HEALTH_CHECK = { id: 'health', name: 'health' } as const;

const POLL_MS = 500;

export interface HealthOutcome {
  check: CheckResult;
  /** Set when nothing answered at all: why ("connection refused", "no answer to GET /health within 10 s"). */
  unreachable?: string;
}

export async function checkHealth(context: Pick<CheckContext, 'client' | 'timeoutMs'>): Promise<HealthOutcome> {
  const { client, timeoutMs } = context;
  const call: HttpCall = { label: `GET ${HEALTH_PATH}`, method: 'GET', path: HEALTH_PATH, headers: { accept: 'application/json' } };
  const started = performance.now();
  const fail = (reason: string, exchange: Exchange): HealthOutcome => {
    const failures = new Failures();
    failures.add(call.label, reason, exchange);
    return { check: failed(HEALTH_CHECK.id, HEALTH_CHECK.name, reason, failures) };
  };
  for (let attempt = 0; ; attempt += 1) {
    const exchange = await client.send(call);
    const { outcome } = exchange;
    if (outcome.kind === 'timeout' && outcome.status === undefined) {
      const reason = `no answer to GET ${HEALTH_PATH} within ${formatDuration(timeoutMs)} (timeout)`;
      return { ...fail(reason, exchange), unreachable: reason };
    }
    if (outcome.kind === 'network' && outcome.status === undefined) {
      const reason = transportProblem(outcome, timeoutMs) ?? 'the connection failed';
      const nothingThere = (outcome.code !== undefined && UNREACHABLE_CODES.has(outcome.code)) || attempt === 0;
      return nothingThere ? { ...fail(reason, exchange), unreachable: reason } : fail(reason, exchange);
    }
    const body = conformingBody(exchange, EndpointHealthSchema, 'EndpointHealth', timeoutMs);
    if (!body.ok) return fail(body.reason, exchange);
    const status = outcome.kind === 'response' ? outcome.status : 0;
    const health = body.value;
    const waited = performance.now() - started;
    if (health.status === 'STARTING') {
      if (waited + POLL_MS < timeoutMs) {
        await sleep(POLL_MS);
        continue;
      }
      return fail(`still STARTING after ${formatDuration(waited)} (--timeout ${formatDuration(timeoutMs)}); expected READY`, exchange);
    }
    if (health.status !== 'READY') return fail(`status ${health.status} with HTTP ${status} (expected READY with 200)`, exchange);
    if (status !== 200) return fail(`status READY, but HTTP ${status} (READY comes with 200)`, exchange);
    const version = health.modelVersion ? `model version ${health.modelVersion}` : 'no model version';
    const after = attempt > 0 ? `, after ${formatDuration(waited - exchange.ms)} of STARTING` : '';
    return { check: passed(HEALTH_CHECK.id, HEALTH_CHECK.name, `READY with HTTP 200 (${version}) in ${formatDuration(exchange.ms)}${after}`) };
  }
}
