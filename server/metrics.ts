import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PoolStats } from './db/database';

/** Prometheus metrics of one server process, on its own registry (tests run several servers in one process). */
export class Metrics {
  readonly registry = new Registry();
  private readonly knownOperations = new Set<string>();

  readonly requests = new Counter({
    name: 'mp_graphql_requests_total',
    help: 'GraphQL operations handled, by operation name, type and outcome',
    labelNames: ['operation', 'type', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly durations = new Histogram({
    name: 'mp_graphql_request_duration_seconds',
    help: 'GraphQL operation duration, by operation name',
    labelNames: ['operation'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly errors = new Counter({
    name: 'mp_graphql_errors_total',
    help: 'GraphQL errors returned, by operation name and error code',
    labelNames: ['operation', 'code'] as const,
    registers: [this.registry],
  });

  readonly responseCache = new Counter({
    name: 'mp_graphql_response_cache_total',
    help: 'Anonymous requests for @publicCache fields, by result: hit (answered from memory) or miss (executed, then stored)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly websocketConnections = new Gauge({
    name: 'mp_websocket_connections',
    help: 'Open graphql-ws connections',
    registers: [this.registry],
  });

  readonly subscriptions = new Gauge({
    name: 'mp_graphql_subscriptions',
    help: 'Active GraphQL subscriptions',
    registers: [this.registry],
  });

  constructor(poolStats: () => PoolStats) {
    new Gauge({
      name: 'mp_db_pool_connections',
      help: 'Database pool connections by state (the embedded database has one session)',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const stats = poolStats();
        this.set({ state: 'total' }, stats.total);
        this.set({ state: 'idle' }, stats.idle);
        this.set({ state: 'waiting' }, stats.waiting);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'mp_' });
  }

  /**
   * Operation names come from clients: keep label cardinality bounded by accepting
   * well-formed names up to a fixed number, and folding the rest into "other".
   */
  operationLabel(name: string | null | undefined): string {
    if (!name) return 'anonymous';
    if (this.knownOperations.has(name)) return name;
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name) || this.knownOperations.size >= 200) return 'other';
    this.knownOperations.add(name);
    return name;
  }
}
