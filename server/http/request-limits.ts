import type { ServerResponse } from 'node:http';
import type { DataSource } from 'typeorm';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { SharedLimit, type LimitUsage } from '../rate-limits';
import type { Principal } from '../modules/identity/principal';
import type { DeploymentCaller } from '../modules/deployments/token-validator';
import { MAX_RATE_LIMIT_PER_MINUTE } from '../modules/deployments/deployments.service';
import { sendError } from './graphql-http';

/** MP_RATE_LIMIT_PER_KEY_PER_MINUTE's default. */
export const DEFAULT_PER_KEY_PER_MINUTE = 600;
const WINDOW_SECONDS = 60;

export interface RequestLimitsOptions {
  /** Requests per minute allowed to each API key (MP_RATE_LIMIT_PER_KEY_PER_MINUTE). */
  perKeyPerMinute?: number;
}

export interface AuthenticatedRequest {
  requestId: string;
  principal: Principal | null;
  deployment: DeploymentCaller | null;
}

/**
 * Requests per minute, counted across every process (server/rate-limits): a deployment token
 * spends from its deployment's own `rateLimitPerMinute`, an API key from the per-key limit.
 * Every answer to such a request says what is left, in the fields of
 * draft-ietf-httpapi-ratelimit-headers (-11): `RateLimit-Policy: "deployment";q=60;w=60` and
 * `RateLimit: "deployment";r=59;t=42`.
 */
export class RequestLimits {
  private readonly perDeployment: SharedLimit;
  private readonly perKey: SharedLimit;

  constructor(
    dataSource: DataSource,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    options: RequestLimitsOptions = {},
  ) {
    const perKey = options.perKeyPerMinute ?? DEFAULT_PER_KEY_PER_MINUTE;
    this.perDeployment = new SharedLimit(dataSource, { name: 'requests-deployment', points: MAX_RATE_LIMIT_PER_MINUTE, windowSeconds: WINDOW_SECONDS }, log);
    this.perKey = new SharedLimit(dataSource, { name: 'requests-key', points: perKey, windowSeconds: WINDOW_SECONDS }, log);
  }

  /**
   * Spends one request of the caller's allowance and sets the RateLimit fields on `res`; past
   * the limit, answers 429 RATE_LIMITED with Retry-After itself. Returns whether the request may
   * go on (an anonymous one always may).
   */
  async admit(res: ServerResponse, request: AuthenticatedRequest): Promise<boolean> {
    const spent = await this.spend(request);
    if (!spent) return true;
    const { policy, usage } = spent;
    res.setHeader('ratelimit-policy', `"${policy}";q=${usage.limit};w=${WINDOW_SECONDS}`);
    res.setHeader('ratelimit', `"${policy}";r=${usage.remaining};t=${usage.resetSeconds}`);
    if (usage.retryAfterSeconds === null) return true;

    this.metrics.requests.inc({ operation: 'unknown', type: 'unknown', outcome: 'error' });
    this.metrics.errors.inc({ operation: 'unknown', code: 'RATE_LIMITED' });
    this.log.info({ requestId: request.requestId, status: 429, errors: ['RATE_LIMITED'], policy }, 'graphql');
    res.setHeader('retry-after', String(usage.retryAfterSeconds));
    const owner = policy === 'deployment' ? 'this deployment' : 'this API key';
    sendError(res, 429, `${owner} may make ${usage.limit} requests a minute: retry in ${usage.retryAfterSeconds} s`, 'RATE_LIMITED', {
      retryAfter: usage.retryAfterSeconds,
    });
    return false;
  }

  private async spend(request: AuthenticatedRequest): Promise<{ policy: string; usage: LimitUsage } | null> {
    if (request.deployment) {
      const { deploymentId, rateLimitPerMinute } = request.deployment;
      return { policy: 'deployment', usage: await this.perDeployment.consume(deploymentId, rateLimitPerMinute) };
    }
    if (request.principal) return { policy: 'api-key', usage: await this.perKey.consume(request.principal.apiKeyId) };
    return null;
  }
}
