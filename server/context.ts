import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from './logger';
import type { Links } from './storage';
import type { Principal } from './modules/identity/principal';
import type { DeploymentCaller } from './modules/deployments/token-validator';
import type { DatabaseKind } from '../generated/server-types';

/**
 * Long-lived, shared by every request of a process. Each module adds its own services to this
 * interface from its index.ts (`declare module '../../context'`), so adding a domain edits
 * nothing here.
 */
export interface Services {
  server: { version: string; database: DatabaseKind };
}

/** Per-request batching (one query for a page of rows, not one per row); modules add theirs like services. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by the modules (declaration merging)
export interface Loaders {}

export interface GraphQLContext {
  requestId: string;
  principal: Principal | null;
  /** Set instead of `principal` for a request made with a deployment token (sit_...). */
  deployment: DeploymentCaller | null;
  /** Signed links as this client reaches us (MP_PUBLIC_URL, else the request's Host). */
  links: Links;
  /** The operation's Idempotency-Key, for create-type mutations. */
  idempotencyKey?: string;
  services: Services;
  loaders: Loaders;
  log: Logger;
}

/** What every request's context is made from, whichever transport it came on. */
export interface ContextFactory {
  services: Services;
  log: Logger;
  /** Links for a base URL. */
  linksAt(baseUrl: string): Links;
  /** MP_PUBLIC_URL, when set: links then never depend on the request. */
  publicUrl: string | undefined;
  /** Where this process listens, for a request without a Host header. */
  listenUrl(): string;
  createLoaders(): Loaders;
}

/**
 * One builder for GraphQL over HTTP and over WebSocket. `headers` are the request's (the
 * upgrade request's on a WebSocket); the Idempotency-Key is per operation: the HTTP header, or
 * a WebSocket operation's `extensions.idempotencyKey` (a socket carries many operations).
 */
export function buildContext(
  factory: ContextFactory,
  request: { requestId: string; principal: Principal | null; deployment?: DeploymentCaller | null; headers: IncomingHttpHeaders; idempotencyKey: unknown },
): GraphQLContext {
  const host = request.headers.host;
  const baseUrl = factory.publicUrl ?? (host ? `http://${host}` : factory.listenUrl());
  return {
    requestId: request.requestId,
    principal: request.principal,
    deployment: request.deployment ?? null,
    links: factory.linksAt(baseUrl),
    idempotencyKey: typeof request.idempotencyKey === 'string' ? request.idempotencyKey : undefined,
    services: factory.services,
    loaders: factory.createLoaders(),
    log: factory.log,
  };
}
