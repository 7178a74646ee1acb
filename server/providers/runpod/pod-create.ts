import { DomainError } from '../../domain-error';
import type { GpuCandidate } from './gpu-catalog';
import { RunPodHttpError, RunPodSubmitUncertainError, RunPodUnreachableError, sleep } from './http';
import type { CreatePodBody, PodApi, RunPodPod } from './pod-api';
import { createRefusal, podCallError } from './pod-errors';

/**
 * Creating a pod by the retry rules of openapi-v2.json (createPod): 422 is never retried, 400
 * ("no capacity", or a rule the request breaks) and 403 (no access to that GPU's pool) move to
 * the next GPU candidate, 402 stops, 429 waits out `Retry-After` (the HTTP client does that).
 *
 * A create whose outcome is unclear (5xx, a reset or timeout after sending, an answer without a
 * pod) may have made a pod that bills: the pod is looked up by its name first and adopted when
 * it is there; only when it is not is the same create sent again, after a backoff. A pod named
 * like ours that exists before the first create (a provision cut short by a restart) is adopted
 * too, so creating is idempotent by name.
 */

export interface CreateContext {
  api: PodApi;
  /** Backoff before the n-th create again after an unclear one. */
  backoff(failures: number): number;
  /** Unclear creates retried per candidate. */
  maxRetries: number;
  /** A line for the deployment's log and the operator log (the caller masks it). */
  log(line: string): void;
}

export interface PodPlacement {
  /** `cpu` is used when `candidates` is empty. */
  body: Omit<CreatePodBody, 'gpu' | 'cpu'>;
  candidates: GpuCandidate[];
  gpuCount: number;
  cpu: { id: string; vcpuCount: number };
}

export interface CreatedPod {
  pod: RunPodPod;
  /** Found by name rather than answered by a create. */
  adopted: boolean;
}

type Attempt = { kind: 'created'; created: CreatedPod } | { kind: 'refused'; status: 400 | 403; detail: string };

export async function createPod(context: CreateContext, placement: PodPlacement): Promise<CreatedPod> {
  const { name } = placement.body;
  const existing = await findByName(context, name, { before: true });
  if (existing) {
    context.log(`Adopted RunPod pod ${existing.id}: a pod named ${name} already existed (an earlier provision of this deployment)`);
    return { pod: existing, adopted: true };
  }

  const tried: { what: string; status: 400 | 403; detail: string }[] = [];
  const options = placement.candidates.length > 0 ? placement.candidates : [null];
  for (const [index, candidate] of options.entries()) {
    const what = candidate ? `${candidate.ourId} (${candidate.runpodId})` : `CPU (${placement.cpu.id}, ${placement.cpu.vcpuCount} vCPU)`;
    const body: CreatePodBody = candidate
      ? { ...placement.body, gpu: { id: candidate.runpodId, count: placement.gpuCount } }
      : { ...placement.body, cpu: placement.cpu };
    context.log(`Creating RunPod pod ${name} on ${what}`);
    const attempt = await placeOn(context, body, what);
    if (attempt.kind === 'created') return attempt.created;
    tried.push({ what, status: attempt.status, detail: attempt.detail });
    const why = attempt.status === 403 ? 'the API key has no access to its pool' : 'no capacity or a rule of RunPod';
    const next = options[index + 1];
    context.log(`RunPod refused ${what} (HTTP ${attempt.status}: ${attempt.detail || why})${next ? '; trying the next GPU type' : ''}`);
  }
  throw nothingPlaced(tried, placement.candidates.length === 0);
}

/** One candidate, again after unclear creates until a pod exists or the retries are spent. */
async function placeOn(context: CreateContext, body: CreatePodBody, what: string): Promise<Attempt> {
  for (let failures = 0; ;) {
    try {
      return { kind: 'created', created: { pod: await context.api.create(body), adopted: false } };
    } catch (error) {
      if (error instanceof RunPodHttpError) {
        if (error.status === 400 || error.status === 403) return { kind: 'refused', status: error.status, detail: error.detail };
        throw createRefusal(error);
      }
      if (error instanceof RunPodUnreachableError) {
        throw new Error(`RunPod could not be reached to create the pod: ${error.reason} (${error.attempts} attempts); nothing was created`);
      }
      if (!(error instanceof RunPodSubmitUncertainError)) throw error;

      context.log(`RunPod's answer to creating pod ${body.name} on ${what} is unclear (${error.reason}); looking for it by name before creating again`);
      const found = await findByName(context, body.name, { before: false, unclear: error.reason });
      if (found) {
        context.log(`Adopted RunPod pod ${found.id}: the unclear create had made it`);
        return { kind: 'created', created: { pod: found, adopted: true } };
      }
      failures += 1;
      if (failures > context.maxRetries) {
        throw new Error(
          `RunPod kept failing to create pod ${body.name} on ${what} (${error.reason}; ${failures} attempts), and no pod of that name exists; try again later`,
        );
      }
      const delay = context.backoff(failures);
      context.log(`No pod named ${body.name} exists; creating it again in ${(delay / 1000).toFixed(1)} s (retry ${failures} of ${context.maxRetries})`);
      await sleep(delay);
    }
  }
}

/**
 * The oldest pod of that name that is not terminated; younger namesakes (left by an earlier
 * unclear create) are terminated so they stop billing.
 */
async function findByName(context: CreateContext, name: string, when: { before: boolean; unclear?: string }): Promise<RunPodPod | null> {
  let pods: RunPodPod[];
  try {
    pods = await context.api.list();
  } catch (error) {
    if (when.before) throw podCallError(error, 'list pods (needed to find a pod of this deployment that may already exist)');
    const reason = podCallError(error, 'list pods').message;
    throw new Error(
      `RunPod's answer to creating pod ${name} was unclear (${when.unclear}) and the pods could not be listed to find out (${reason}); ` +
        `a pod named ${name} may exist: provisioning again adopts it, or terminate it on RunPod`,
    );
  }
  const matches = pods
    .filter((pod) => pod.name === name && pod.status !== 'TERMINATED')
    .sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.id.localeCompare(b.id));
  const [kept, ...extra] = matches;
  for (const pod of extra) {
    try {
      await context.api.action(pod.id, 'terminate');
      context.log(`Terminated RunPod pod ${pod.id}, a second pod named ${name} (kept ${kept.id})`);
    } catch (error) {
      context.log(
        `RunPod pod ${pod.id} is a second pod named ${name} and could not be terminated (${podCallError(error, 'terminate it').message}); terminate it on RunPod`,
      );
    }
  }
  return kept ?? null;
}

/** How RunPod words "no capacity" (400 carries no code for it, only this `detail`). */
const CAPACITY = /capacity|no longer any instances|not available|unavailable|out of stock|sold out/i;

/**
 * Every candidate refused. openapi-v2.json: a rule violation fails the same on every candidate,
 * so one reason for all that does not read as capacity is taken as a fault of the request.
 */
function nothingPlaced(tried: { what: string; status: 400 | 403; detail: string }[], cpu: boolean): DomainError {
  const list = tried.map((entry) => `${entry.what}: HTTP ${entry.status}${entry.detail ? ` ${entry.detail}` : ''}`).join('; ');
  if (tried.every((entry) => entry.status === 403)) {
    return new DomainError('PRECONDITION_FAILED', `the RunPod API key lacks permission to create pods on what was asked (${list})`);
  }
  const last = tried[tried.length - 1];
  const sameRule = tried.every((entry) => entry.status === 400 && entry.detail === last.detail) && last.detail !== '' && !CAPACITY.test(last.detail);
  if (sameRule) {
    return new DomainError(
      'BAD_USER_INPUT',
      `RunPod refused the pod for the same reason on ${tried.length === 1 ? tried[0].what : `every GPU type asked (${tried.map((entry) => entry.what).join(', ')})`}, ` +
        `so the request breaks one of its rules: ${last.detail}`,
    );
  }
  if (cpu) return new DomainError('PRECONDITION_FAILED', `RunPod could not place the CPU pod (${list}); try again later or ask for a GPU type`);
  return new DomainError(
    'PRECONDITION_FAILED',
    `RunPod has no capacity for any GPU type asked; tried ${list}. Ask for other GPU types (gpuTypes) or try again later`,
  );
}
