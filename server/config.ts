import path from 'node:path';
import { z } from 'zod';

/**
 * Every environment variable the server reads, parsed and validated in one place.
 * The README's configuration table documents the same list.
 */
const booleanFlag = z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off']).transform((value) => ['true', '1', 'yes', 'on'].includes(value));

const environmentSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
    .optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  MP_DATA_DIR: z.string().min(1).default('./.mp-data'),
  MP_PUBLIC_URL: z.string().url().optional(),
  MP_SIGNING_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  MP_CORS_ORIGINS: z.string().default(''),
  MP_INTROSPECTION: booleanFlag.optional(),
  MP_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(100 * 1024 * 1024)
    .default(1024 * 1024),
  MP_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MP_SEED_DEMO: booleanFlag.optional(),
  MP_KEY_CACHE_TTL_SECONDS: z.coerce.number().int().min(0).max(60).default(60),
  MP_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(60000).default(8000),
  MP_MAX_DEPTH: z.coerce.number().int().min(2).max(50).default(12),
  MP_MAX_ALIASES: z.coerce.number().int().min(1).max(200).default(30),
  MP_MAX_COST: z.coerce.number().int().min(100).max(1_000_000).default(20000),
  MP_MAX_TOKENS: z.coerce.number().int().min(100).max(100_000).default(5000),
  MP_MAX_DIRECTIVES: z.coerce.number().int().min(1).max(200).default(50),
  MP_RATE_LIMIT_PER_KEY_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
  MP_AUTH_FAILURES_PER_KEY: z.coerce.number().int().min(1).max(10_000).default(10),
  MP_AUTH_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).max(100_000).default(100),
  MP_AUTH_FAILURE_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(900),
  MP_WS_MAX_SUBSCRIPTIONS_PER_SOCKET: z.coerce.number().int().min(1).max(10_000).default(100),
  MP_WS_MAX_PENDING_SUBSCRIBES: z.coerce.number().int().min(1).max(1_000).default(16),
  MP_WS_MAX_SOCKETS_PER_KEY: z.coerce.number().int().min(1).max(10_000).default(20),
  MP_WS_MAX_ANONYMOUS_SOCKETS_PER_ADDRESS: z.coerce.number().int().min(1).max(10_000).default(10),
  MP_WS_KEEPALIVE_SECONDS: z.coerce.number().int().min(0).max(3_600).default(12),
  MP_WS_IDLE_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  MP_LOCAL_DEPLOYMENTS_PER_VENDOR: z.coerce.number().int().min(0).max(10_000).default(5),
  MP_RUNPOD_DEPLOYMENTS_PER_VENDOR: z.coerce.number().int().min(0).max(10_000).default(3),
  MP_LOCAL_EGRESS_ALLOW_HOSTS: z.string().default(''),
  MP_TRAINING_WORKER: booleanFlag.default(true),
  MP_TEMPLATES_DIR: z.string().min(1).optional(),
  MP_LOCAL_RUN_USER: z.string().trim().min(1).optional(),
  MP_TRAINING_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  MP_TRAINING_VENDOR_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  MP_TRAINING_LEASE_SECONDS: z.coerce.number().int().min(3).max(600).default(30),
  MP_LOCAL_CPU_PRICE_USD: z
    .string()
    .trim()
    .regex(/^\d{1,4}(\.\d{1,6})?$/, 'a USD amount per hour such as 0 or 0.25')
    .default('0'),
  RUNPOD_API_KEY: z.string().min(8).optional(),
  RUNPOD_ENDPOINT_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, - and _ only')
    .optional(),
  RUNPOD_ENDPOINTS: z
    .string()
    .transform((value, context) => parseEndpointMap(value, context))
    .optional(),
  RUNPOD_JOBS_URL: z.string().url().default('https://api.runpod.ai/v2'),
  RUNPOD_API_URL: z.string().url().default('https://api.runpod.io'),
});

export type DatabaseConfig = { kind: 'embedded'; dataDir: string } | { kind: 'postgres'; url: string; poolSize: number };

export interface ServerConfig {
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  publicUrl: string | undefined;
  /** HMAC secret for download URLs; unset means generated once into MP_DATA_DIR. */
  signingSecret: string | undefined;
  dataDir: string;
  /** Dataset files (and later artifacts): MP_DATA_DIR/blobs. */
  blobDir: string;
  database: DatabaseConfig;
  corsOrigins: string[];
  introspection: boolean;
  bodyLimitBytes: number;
  logLevel: string;
  seedDemo: boolean;
  keyCacheTtlMs: number;
  shutdownTimeoutMs: number;
  limits: { maxDepth: number; maxAliases: number; maxCost: number; maxTokens: number; maxDirectives: number };
  /** Requests per minute each API key may make to /graphql over HTTP, counted across processes. */
  rateLimitPerKeyPerMinute: number;
  /** Failed API key attempts allowed per key id and per client address in each window, across processes. */
  authFailures: { perKey: number; perAddress: number; windowSeconds: number };
  /** graphql-ws limits, per process; 0 for keepAliveMs or idleMs turns that check off. */
  websocket: WebSocketLimits;
  training: {
    worker: boolean;
    concurrency: number;
    perVendorConcurrency: number;
    leaseSeconds: number;
    workRoot: string;
    templatesDir: string | undefined;
    /** Who local training programs run as (a name or uid); unset: `nobody` under root where it can, else the server's user. */
    localRunUser: string | undefined;
    /** USD per hour a LOCAL run costs (MP_LOCAL_CPU_PRICE_USD), a decimal string. */
    localCpuPricePerHourUsd: string;
  };
  /** RUNPOD_API_KEY as given, with or without an endpoint (masked in logs either way). */
  runpodApiKey: string | undefined;
  /** Set when RUNPOD_API_KEY is: RunPod pods for deployments need no endpoint. */
  runpodPods: { apiKey: string; restBaseUrl: string } | undefined;
  /** How many deployments a vendor may have that are not STOPPED or FAILED, per provider. */
  deploymentsPerVendor: { LOCAL: number; RUNPOD: number };
  /** Hosts a LOCAL deployment's model.url or signalsUrl may name although they are this machine or a private network. */
  localEgressAllowHosts: ReadonlySet<string>;
  /** Set when RUNPOD_API_KEY is, with RUNPOD_ENDPOINTS or RUNPOD_ENDPOINT_ID. */
  runpod: RunPodTrainingConfig | undefined;
}

/** Which serverless endpoints run RUNPOD training jobs. */
export interface RunPodTrainingConfig {
  apiKey: string;
  /** RUNPOD_ENDPOINTS: each GPU type id (as `gpuTypes` lists it) and the endpoint created with that GPU. */
  endpoints: { gpuType: string; endpointId: string }[];
  /** RUNPOD_ENDPOINT_ID: an endpoint whose GPU types are read from RunPod (GET /v2/serverless/{id}). */
  endpointId: string | undefined;
  jobsBaseUrl: string;
  restBaseUrl: string;
}

export interface WebSocketLimits {
  maxSubscriptionsPerSocket: number;
  maxPendingSubscribes: number;
  maxSocketsPerKey: number;
  maxAnonymousSocketsPerAddress: number;
  keepAliveMs: number;
  idleMs: number;
}

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const parsed = environmentSchema.safeParse(stripEmpty(env));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.MP_DATA_DIR);
  const production = e.NODE_ENV === 'production';
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    publicUrl: e.MP_PUBLIC_URL?.replace(/\/+$/, ''),
    signingSecret: e.MP_SIGNING_SECRET,
    dataDir,
    blobDir: path.join(dataDir, 'blobs'),
    database: e.DATABASE_URL
      ? { kind: 'postgres', url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE }
      : { kind: 'embedded', dataDir: path.join(dataDir, 'pglite') },
    corsOrigins: e.MP_CORS_ORIGINS.split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
    introspection: e.MP_INTROSPECTION ?? !production,
    bodyLimitBytes: e.MP_BODY_LIMIT_BYTES,
    logLevel: e.MP_LOG_LEVEL,
    seedDemo: e.MP_SEED_DEMO ?? !e.DATABASE_URL,
    keyCacheTtlMs: e.MP_KEY_CACHE_TTL_SECONDS * 1000,
    shutdownTimeoutMs: e.MP_SHUTDOWN_TIMEOUT_MS,
    training: {
      worker: e.MP_TRAINING_WORKER,
      concurrency: e.MP_TRAINING_CONCURRENCY,
      perVendorConcurrency: e.MP_TRAINING_VENDOR_CONCURRENCY,
      leaseSeconds: e.MP_TRAINING_LEASE_SECONDS,
      workRoot: path.join(dataDir, 'runs'),
      templatesDir: e.MP_TEMPLATES_DIR ? path.resolve(e.MP_TEMPLATES_DIR) : undefined,
      localRunUser: e.MP_LOCAL_RUN_USER,
      localCpuPricePerHourUsd: e.MP_LOCAL_CPU_PRICE_USD,
    },
    runpodApiKey: e.RUNPOD_API_KEY,
    runpodPods: e.RUNPOD_API_KEY ? { apiKey: e.RUNPOD_API_KEY, restBaseUrl: e.RUNPOD_API_URL.replace(/\/+$/, '') } : undefined,
    deploymentsPerVendor: { LOCAL: e.MP_LOCAL_DEPLOYMENTS_PER_VENDOR, RUNPOD: e.MP_RUNPOD_DEPLOYMENTS_PER_VENDOR },
    localEgressAllowHosts: new Set(
      e.MP_LOCAL_EGRESS_ALLOW_HOSTS.split(',')
        .map((host) =>
          host
            .trim()
            .replace(/^\[|\]$/g, '')
            .toLowerCase(),
        )
        .filter(Boolean),
    ),
    runpod:
      e.RUNPOD_API_KEY && (e.RUNPOD_ENDPOINT_ID || e.RUNPOD_ENDPOINTS?.length)
        ? {
            apiKey: e.RUNPOD_API_KEY,
            endpoints: e.RUNPOD_ENDPOINTS ?? [],
            endpointId: e.RUNPOD_ENDPOINT_ID,
            jobsBaseUrl: e.RUNPOD_JOBS_URL.replace(/\/+$/, ''),
            restBaseUrl: e.RUNPOD_API_URL.replace(/\/+$/, ''),
          }
        : undefined,
    limits: {
      maxDepth: e.MP_MAX_DEPTH,
      maxAliases: e.MP_MAX_ALIASES,
      maxCost: e.MP_MAX_COST,
      maxTokens: e.MP_MAX_TOKENS,
      maxDirectives: e.MP_MAX_DIRECTIVES,
    },
    rateLimitPerKeyPerMinute: e.MP_RATE_LIMIT_PER_KEY_PER_MINUTE,
    authFailures: { perKey: e.MP_AUTH_FAILURES_PER_KEY, perAddress: e.MP_AUTH_FAILURES_PER_ADDRESS, windowSeconds: e.MP_AUTH_FAILURE_WINDOW_SECONDS },
    websocket: {
      maxSubscriptionsPerSocket: e.MP_WS_MAX_SUBSCRIPTIONS_PER_SOCKET,
      maxPendingSubscribes: e.MP_WS_MAX_PENDING_SUBSCRIBES,
      maxSocketsPerKey: e.MP_WS_MAX_SOCKETS_PER_KEY,
      maxAnonymousSocketsPerAddress: e.MP_WS_MAX_ANONYMOUS_SOCKETS_PER_ADDRESS,
      keepAliveMs: e.MP_WS_KEEPALIVE_SECONDS * 1000,
      idleMs: e.MP_WS_IDLE_SECONDS * 1000,
    },
  };
}

/** `A100=abc123,H100=def456`: a GPU type id and a serverless endpoint id per entry, each GPU once. */
function parseEndpointMap(value: string, context: z.RefinementCtx): { gpuType: string; endpointId: string }[] {
  const entries: { gpuType: string; endpointId: string }[] = [];
  for (const item of value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const match = /^([A-Za-z0-9][A-Za-z0-9-]{0,63})=([A-Za-z0-9_-]{1,64})$/.exec(item);
    if (!match) {
      context.addIssue({ code: 'custom', message: `"${item}" is not GPU=endpoint-id (e.g. A100=abc123)` });
      continue;
    }
    if (entries.some((entry) => entry.gpuType === match[1])) context.addIssue({ code: 'custom', message: `GPU ${match[1]} is given twice` });
    entries.push({ gpuType: match[1], endpointId: match[2] });
  }
  return entries;
}

/** An empty variable (`PORT=`) means "use the default", as most tools treat it. */
function stripEmpty(env: NodeJS.ProcessEnv): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') result[key] = value;
  }
  return result;
}
