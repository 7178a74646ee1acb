// Runs the checks of `mp validate` against one endpoint, in order, and gathers the report.
import { BATCH_CHECK, checkBatch } from './check-batch';
import { checkContentType, CONTENT_TYPE_CHECK } from './check-content-type';
import { checkHealth, HEALTH_CHECK } from './check-health';
import { checkInvalid, INVALID_CHECK } from './check-invalid';
import { checkLoad, LOAD_CHECK } from './check-load';
import { skipped, type CheckResult } from './check-result';
import { checkValid, validCasesFor, VALID_CHECK } from './check-valid';
import { signalBounds } from './contract-bounds';
import type { CheckContext, ValidateSettings } from './context';
import { EndpointClient } from './http-client';
import type { Percentiles } from './percentiles';

export interface ValidationReport {
  url: string;
  contract: 'signal';
  seed: number;
  checks: CheckResult[];
  /** Of the load check's 2xx answers, in milliseconds. */
  latency?: Percentiles;
  /** Why nothing answered GET /health, when nothing did. */
  unreachable?: string;
  ok: boolean;
}

/** Every check's name, in the order they run. */
export const CHECKS = [HEALTH_CHECK, VALID_CHECK, BATCH_CHECK, INVALID_CHECK, CONTENT_TYPE_CHECK, LOAD_CHECK] as const;

export async function validateEndpoint(settings: ValidateSettings, onCheck: (check: CheckResult) => void = () => undefined): Promise<ValidationReport> {
  const bounds = signalBounds();
  const client = new EndpointClient({ baseUrl: settings.baseUrl, timeoutMs: settings.timeoutMs, maxSockets: settings.concurrency });
  const context: CheckContext = { ...settings, client, bounds, validCases: validCasesFor(settings.seed, bounds), answers: new Map() };
  const checks: CheckResult[] = [];
  const report = (check: CheckResult) => {
    checks.push(check);
    onCheck(check);
  };
  try {
    const health = await checkHealth(context);
    report(health.check);
    if (health.unreachable !== undefined) {
      for (const { id, name } of CHECKS.slice(1)) report(skipped(id, name, 'not run: the endpoint is unreachable'));
      return { url: settings.baseUrl, contract: 'signal', seed: settings.seed, checks, unreachable: health.unreachable, ok: false };
    }
    report(await checkValid(context));
    report(await checkBatch(context));
    report(await checkInvalid(context));
    const load = await checkLoad(context);
    // The content type of the load's answers counts too, but its line comes before the load's.
    report(checkContentType(client.exchanges));
    report(load.check);
    return { url: settings.baseUrl, contract: 'signal', seed: settings.seed, checks, latency: load.latency, ok: checks.every((c) => c.verdict === 'pass') };
  } finally {
    client.close();
  }
}
