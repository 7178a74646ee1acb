import type { DataSource } from 'typeorm';
import type { z } from 'zod';
import { DomainError, badInput } from '../../domain-error';
import type { ModelTask } from '../../../generated/schema-types';

/** How long the marketplace waits for a vendor's CONSENSUS or OPTIMIZER endpoint. */
const ENDPOINT_TIMEOUT_MS = 5_000;

export interface ServingModel {
  id: string;
  slug: string;
  endpointUrl: string;
}

/**
 * A published model of `task` (by slug or id) that is LIVE now, with the URL of the deployment
 * serving it: what `consensus(model:)` and `optimizePortfolio(model:)` hand the computation to.
 */
export async function liveModelOfTask(dataSource: DataSource, ref: string, task: ModelTask, field: string): Promise<ServingModel> {
  const wanted = ref.trim();
  const [row] = (await dataSource.query(
    `SELECT m.id, m.slug, m.task, m.status, d.status AS deployment_status, d.health, d.endpoint_url
       FROM catalog_models m LEFT JOIN deployments d ON d.id = m.deployment_id
      WHERE (m.id = $1 OR m.slug = $1) AND m.status IN ('PUBLISHED', 'DEPRECATED')`,
    [wanted],
  )) as { id: string; slug: string; task: ModelTask; deployment_status: string | null; health: string | null; endpoint_url: string | null }[];
  if (!row) throw badInput(field, `no published model ${wanted} in the catalog`);
  if (row.task !== task)
    throw badInput(field, `${row.slug} is a model of task ${row.task}; pick one of task ${task} (mp catalog list --task ${task.toLowerCase()})`);
  if (row.health !== 'HEALTHY' || !row.endpoint_url || !['STARTING', 'RUNNING'].includes(row.deployment_status ?? '')) {
    throw new DomainError(
      'PRECONDITION_FAILED',
      `${row.slug} is not LIVE (its deployment is not serving and HEALTHY): use the built-in method, or try again once it is`,
    );
  }
  return { id: row.id, slug: row.slug, endpointUrl: row.endpoint_url };
}

/**
 * POSTs `body` to the model's endpoint and checks the answer against the contract's validator.
 * Whatever goes wrong (no answer in time, a status other than 200, a body outside the contract)
 * is PRECONDITION_FAILED naming the model, never the endpoint's own text.
 */
export async function callModelEndpoint<Schema extends z.ZodType>(model: ServingModel, route: string, body: unknown, schema: Schema): Promise<z.infer<Schema>> {
  let response: Response;
  try {
    response = await fetch(new URL(route, model.endpointUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(ENDPOINT_TIMEOUT_MS),
      redirect: 'error',
    });
  } catch (error) {
    const timedOut = (error as Error).name === 'TimeoutError';
    throw new DomainError(
      'PRECONDITION_FAILED',
      `${model.slug} ${timedOut ? `did not answer POST ${route} within ${ENDPOINT_TIMEOUT_MS / 1000} s` : `could not be reached at POST ${route}`}`,
    );
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new DomainError('PRECONDITION_FAILED', `${model.slug} answered POST ${route} with HTTP ${response.status}`);
  }
  let parsed: unknown;
  try {
    parsed = await response.json();
  } catch {
    throw new DomainError('PRECONDITION_FAILED', `${model.slug} answered POST ${route} with a body that is not JSON`);
  }
  const checked = schema.safeParse(parsed);
  if (!checked.success) {
    const problem = checked.error.issues[0];
    throw new DomainError(
      'PRECONDITION_FAILED',
      `${model.slug} answered POST ${route} outside the contract: ${problem.path.join('.') || 'body'}: ${problem.message}`,
    );
  }
  return checked.data;
}
