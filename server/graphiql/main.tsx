// Browser entry of the GraphiQL page, bundled by scripts/build-graphiql.mjs (esbuild).
// Not compiled by tsc: it only needs to be valid for esbuild.
import 'graphiql/style.css';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher, type Fetcher, type FetcherOpts, type FetcherParams } from '@graphiql/toolkit';
import { Kind, parse, type DocumentNode } from 'graphql';
import { createClient } from 'graphql-ws/client';
import { createRoot } from 'react-dom/client';
import { DEFAULT_TABS } from './default-tabs';

// Each property is replaced at build time by the URL of a separately bundled Monaco worker.
declare const MONACO_WORKER_URLS: { editor: string; json: string; graphql: string };

// Monaco asks for one worker per language; load ours instead of graphiql's esm.sh default.
Object.assign(globalThis, {
  MonacoEnvironment: {
    getWorker(_workerId: string, label: string): Worker {
      const url = label === 'json' ? MONACO_WORKER_URLS.json : label === 'graphql' ? MONACO_WORKER_URLS.graphql : MONACO_WORKER_URLS.editor;
      return new Worker(url, { name: label });
    },
  },
});

const httpUrl = `${location.origin}/graphql`;
const wsUrl = httpUrl.replace(/^http/, 'ws');

function authorizationOf(headers: Record<string, unknown> | undefined): string {
  const key = Object.keys(headers ?? {}).find((k) => k.toLowerCase() === 'authorization');
  const value = key === undefined ? undefined : headers?.[key];
  return typeof value === 'string' ? value : '';
}

// HTTP requests get the headers editor's headers from the toolkit. A WebSocket carries
// credentials only once, in connectionParams, and our server reads `authorization` there:
// so keep one (lazy) graphql-ws client per Authorization value the user has tried.
const fetchers = new Map<string, Fetcher>();
const fetcher: Fetcher = (params, opts) => {
  const authorization = authorizationOf(opts?.headers);
  let fetch = fetchers.get(authorization);
  if (!fetch) {
    const wsClient = createClient({ url: wsUrl, connectionParams: authorization ? { authorization } : {} });
    fetch = createGraphiQLFetcher({ url: httpUrl, wsClient });
    fetchers.set(authorization, fetch);
  }
  return fetch(...ofTheDocumentSent(params, opts));
};

/**
 * Right after a tab switch GraphiQL may still hand over the previous tab's operationName and
 * parsed document (documentAST), and the toolkit then takes a subscription for a query and POSTs
 * it. Both are taken from the document actually sent: its operation, when the name given is not one of its own.
 */
function ofTheDocumentSent(params: FetcherParams, opts: FetcherOpts | undefined): [FetcherParams, FetcherOpts | undefined] {
  let documentAST: DocumentNode;
  try {
    documentAST = parse(params.query);
  } catch {
    return [params, opts]; // not a document: the server says what is wrong with it
  }
  const names = documentAST.definitions.flatMap((definition) =>
    definition.kind === Kind.OPERATION_DEFINITION && definition.name ? [definition.name.value] : [],
  );
  const operationName = params.operationName && !names.includes(params.operationName) ? (names.length === 1 ? names[0] : null) : params.operationName;
  return [
    { ...params, operationName },
    { ...opts, documentAST },
  ];
}

const container = document.getElementById('graphiql')!;
createRoot(container).render(<GraphiQL fetcher={fetcher} defaultTabs={DEFAULT_TABS} isHeadersEditorEnabled />);
