import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { makeExecutableSchema, type IExecutableSchemaDefinition } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import { CliError } from '../../cli/errors';
import type { Io, TextInput, TextOutput } from '../../cli/io';

/** A TextOutput that keeps everything written to it in `text`, for asserting on what a command printed. */
export class BufferedOutput implements TextOutput {
  text = '';
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

/** An Io for running a command in-process: output into the given buffers, stdin holding `stdin.text` (empty by default). */
export function inProcessIo(stdout: TextOutput, stderr: TextOutput, env: NodeJS.ProcessEnv, stdin: { text?: string; tty?: boolean } = {}): Io {
  const input = Readable.from(stdin.text === undefined ? [] : [stdin.text]) as unknown as TextInput;
  if (stdin.tty !== undefined) input.isTTY = stdin.tty;
  return { stdout, stderr, stdin: input, env };
}

/** Awaits `promise` and asserts it rejects with a CliError whose exit code is `exitCode`; returns that error. */
export async function expectCliError(promise: Promise<unknown>, exitCode: number): Promise<CliError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof CliError, `expected a CliError, got ${String(error)}`);
    assert.equal(error.exitCode, exitCode, `exit code of "${error.message}"`);
    return error;
  }
  assert.fail(`expected exit ${exitCode}`);
}

/** One GraphQL request as a stand-in API received it. */
export interface SeenGraphqlRequest {
  operationName: string;
  variables: Record<string, unknown>;
  authorization?: string;
}

/** Gives the JSON body a stand-in API answers one GraphQL operation with. */
export type GraphqlResponder = (operationName: string, variables: Record<string, unknown>, authorization?: string) => unknown;

/** A request listener for GraphQL POSTs: records each request in `seen`, then answers 200 with `respond`'s result as JSON. */
export function graphqlListener(seen: { push(request: SeenGraphqlRequest): unknown }, respond: GraphqlResponder): http.RequestListener {
  return (req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      const body = JSON.parse(raw) as { operationName: string; variables: Record<string, unknown> };
      seen.push({ operationName: body.operationName, variables: body.variables, authorization: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(respond(body.operationName, body.variables, req.headers.authorization)));
    });
  };
}

/** Starts `server` on a free port of 127.0.0.1 and resolves to its base URL (`http://127.0.0.1:PORT`). */
export async function listenLocally(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Stops `server`, dropping kept-alive connections so that it closes at once. */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** A stand-in marketplace GraphQL API at `url` (…/graphql) that answers each operation with what `respond` returns. */
export async function fakeGraphqlApi(respond: GraphqlResponder): Promise<{ url: string; seen: SeenGraphqlRequest[]; close: () => Promise<void> }> {
  const seen: SeenGraphqlRequest[] = [];
  const server = http.createServer(graphqlListener(seen, respond));
  const url = `${await listenLocally(server)}/graphql`;
  return { url, seen, close: () => closeServer(server) };
}

/** The marketplace's whole SDL as codegen merged it (generated/schema.graphql): what every stand-in API serves. */
export const SCHEMA_SDL = readFileSync(path.join(__dirname, '..', '..', 'generated', 'schema.graphql'), 'utf8');

/**
 * An executable copy of the real schema for a stand-in API, with the given resolvers (e.g. a
 * Subscription.trainingLogs that yields canned events); fields without one resolve by default.
 */
export function fakeSchema(resolvers: IExecutableSchemaDefinition['resolvers'] = {}): GraphQLSchema {
  return makeExecutableSchema({ typeDefs: SCHEMA_SDL, resolvers });
}
