// Check 4: every answer of every check so far said it is JSON (errors included).
import { Failures, failed, passed, type CheckResult } from './check-result';
import type { Exchange } from './http-client';
import { isJsonContentType } from './json-content-type';

export const CONTENT_TYPE_CHECK = { id: 'content-type', name: 'content type' } as const;

export function checkContentType(exchanges: readonly Exchange[]): CheckResult {
  const failures = new Failures();
  const wrongTypes = new Map<string, number>();
  let answers = 0;
  for (const exchange of exchanges) {
    const { outcome } = exchange;
    if (outcome.kind !== 'response') continue;
    answers += 1;
    if (isJsonContentType(outcome.contentType)) continue;
    const type = outcome.contentType ?? 'no content-type';
    wrongTypes.set(type, (wrongTypes.get(type) ?? 0) + 1);
    failures.add(exchange.call.label, `HTTP ${outcome.status} with ${type} (expected application/json)`, exchange);
  }
  if (failures.count === 0) return passed(CONTENT_TYPE_CHECK.id, CONTENT_TYPE_CHECK.name, `all ${answers} answers had content-type application/json`);
  const types = [...wrongTypes.entries()].map(([type, count]) => (count === 1 ? type : `${type} ×${count}`)).join(', ');
  return failed(CONTENT_TYPE_CHECK.id, CONTENT_TYPE_CHECK.name, `${failures.count} of ${answers} answers were not JSON (${types})`, failures);
}
